"""One module per `shoplens` command.

Each module has `register(commands)`, which adds its sub-parser and sets
`handler` to a function `(arguments) -> exit code`. Adding a command is a new
module plus one line in `analytics.cli.COMMANDS`.
"""
