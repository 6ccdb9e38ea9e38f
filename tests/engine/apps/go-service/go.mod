module example.com/tidesvc

go 1.19

require (
	github.com/go-chi/chi/v5 v5.0.7
	golang.org/x/text v0.7.0
)
