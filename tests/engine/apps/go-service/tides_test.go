package main

import "testing"

func TestLookup(t *testing.T) {
	if _, ok := lookup("brest"); !ok {
		t.Fatal("brest missing")
	}
}
