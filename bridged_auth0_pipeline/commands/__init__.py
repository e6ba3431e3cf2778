"""The `bridged-auth0` subcommands, one module per concern (cli.py only parses and dispatches)."""
