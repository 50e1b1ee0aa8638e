"""Command-line subcommands (each module: register(subparsers))."""
