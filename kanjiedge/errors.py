"""Exceptions a user can act on: the CLI prints them as one line, without a traceback."""


class UserError(Exception):
    """A problem with the user's input or environment (missing file, bad option, broken budget)."""
