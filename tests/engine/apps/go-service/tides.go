package main

import (
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Tide is one port's high and low water.
type Tide struct {
	Port   string  `json:"port"`
	High   string  `json:"high"`
	Low    string  `json:"low"`
	RangeM float64 `json:"range_m"`
}

var tides = map[string]Tide{
	"brest":    {"Brest", "06:12", "12:31", 6.85},
	"falmouth": {"Falmouth", "05:48", "11:59", 4.72},
}

func lookup(port string) (Tide, bool) {
	t, ok := tides[port]
	return t, ok
}

// describeRange writes the tidal range with the number conventions of lang (a BCP 47 tag;
// English when it is empty or not understood): "6,85 m" in French.
func describeRange(t Tide, lang string) string {
	tag, err := language.Parse(lang)
	if err != nil {
		tag = language.English
	}
	return message.NewPrinter(tag).Sprintf("%s: tidal range %.2f m", t.Port, t.RangeM)
}
