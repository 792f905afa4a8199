"""Errors a user can fix, kept apart from bugs so the CLI can answer each differently."""


class UserError(Exception):
    """Bad input or arguments: the CLI prints one line and exits with code 2."""

    exit_code = 2


class InternalError(Exception):
    """A failure that is not the user's: one line, exit code 1."""

    exit_code = 1
