package main

// Tide is one port's high and low water.
type Tide struct {
	Port string `json:"port"`
	High string `json:"high"`
	Low  string `json:"low"`
}

var tides = map[string]Tide{
	"brest":    {"Brest", "06:12", "12:31"},
	"falmouth": {"Falmouth", "05:48", "11:59"},
}

func lookup(port string) (Tide, bool) {
	t, ok := tides[port]
	return t, ok
}
