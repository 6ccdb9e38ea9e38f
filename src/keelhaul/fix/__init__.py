"""Fixes: edits on the lossless tree, applied together, until nothing more can be fixed."""
