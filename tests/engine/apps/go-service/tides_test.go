package main

import "testing"

func TestLookup(t *testing.T) {
	if _, ok := lookup("brest"); !ok {
		t.Fatal("brest missing")
	}
}

func TestDescribeRangeInFrench(t *testing.T) {
	tide, _ := lookup("brest")
	if got, want := describeRange(tide, "fr"), "Brest: tidal range 6,85 m"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
