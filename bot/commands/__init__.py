"""One module per `hotpapers` subcommand, each with `main(args, settings) -> int`."""
