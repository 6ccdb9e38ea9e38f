// tidesvc answers tide times over HTTP: GET /healthz, GET /tides?port=NAME.
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
)

func main() {
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = ":8080"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/tides", func(w http.ResponseWriter, r *http.Request) {
		tide, ok := lookup(r.URL.Query().Get("port"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(tide)
	})
	log.Printf("tidesvc listening on %s", addr)
	log.Fatal(http.ListenAndServe(addr, mux))
}
