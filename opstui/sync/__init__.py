"""Change detection: turns "the file changed" into "these events happened"."""
