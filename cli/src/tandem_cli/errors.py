"""The one error the CLI reports to its user: a clear message, exit code 1."""

__all__ = ["CliError"]


class CliError(Exception):
    """Something the user can fix; ``main`` prints the message and exits with 1."""
