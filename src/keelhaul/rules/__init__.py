"""The rule catalogue: one registry, one small module per rule."""
