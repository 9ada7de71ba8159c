"""The `dubber` command line."""
