// tidesvc answers tide times over HTTP: GET /healthz, GET /tides/{port} (JSON),
// GET /tides/{port}/height?lang=fr (the tidal range, written for the reader's language).
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

func main() {
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = ":8080"
	}
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.Recoverer)
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	r.Route("/tides/{port}", func(r chi.Router) {
		r.Get("/", func(w http.ResponseWriter, r *http.Request) {
			tide, ok := lookup(chi.URLParam(r, "port"))
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(tide)
		})
		r.Get("/height", func(w http.ResponseWriter, r *http.Request) {
			tide, ok := lookup(chi.URLParam(r, "port"))
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Write([]byte(describeRange(tide, r.URL.Query().Get("lang")) + "\n"))
		})
	})
	log.Printf("tidesvc listening on %s", addr)
	log.Fatal(http.ListenAndServe(addr, r))
}
