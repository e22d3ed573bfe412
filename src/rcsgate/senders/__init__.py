"""SMS sender IDs an account may use: added and verified by an operator (CLI)."""
