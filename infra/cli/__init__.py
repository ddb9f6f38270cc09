"""The `paddock` command line."""
