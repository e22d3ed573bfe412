"""One module per portal section; each holds its routes."""
