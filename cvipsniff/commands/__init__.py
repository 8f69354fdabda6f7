"""One module per ``cvipsniff`` sub-command: ``register(subparsers)`` adds its parser,
``run(args) -> int`` does the work and returns the exit status."""
