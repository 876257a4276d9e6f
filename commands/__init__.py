"""The CLI's subcommands, one module per command; `cli.py` parses the arguments and dispatches."""
