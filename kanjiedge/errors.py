"""Exceptions a user can act on: the CLI prints them as one line, without a traceback, and exits with
`exit_code`. Anything else (a bug) keeps its traceback: `kanjiedge.cli` catches only these."""


class UserError(Exception):
    """A problem with the user's input or environment (missing file, bad option, broken budget)."""

    exit_code = 1


class InputError(UserError, ValueError):
    """A bad value in a file or argument the user gave. Also a ValueError, so library callers that catch
    ValueError (the decoder's API promises it) keep working."""


class RefusedOutput(UserError):
    """An --out the command will not write to: it is not the command's own earlier output, or it is one of the
    command's inputs. Exit code 2, like a usage error: nothing was written."""

    exit_code = 2
