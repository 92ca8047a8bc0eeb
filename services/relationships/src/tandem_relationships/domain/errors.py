"""What the domain refuses, each with a stable ``reason`` and the HTTP status it means."""

__all__ = ["DomainError", "Forbidden", "Invalid", "NotFound", "Refused"]


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or type(self).__name__.lower()


class NotFound(DomainError):  # noqa: N818 - read as the answer, like HTTP's
    status_code = 404

    def __init__(self, message: str, *, reason: str = "not_found") -> None:
        super().__init__(message, reason=reason)


class Forbidden(DomainError):  # noqa: N818
    status_code = 403


class Refused(DomainError):  # noqa: N818
    """The request conflicts with the current state (a second answer, a closed relationship)."""

    status_code = 409


class Invalid(DomainError):  # noqa: N818
    """Well-formed but not acceptable (a session in the past that is not a log)."""

    status_code = 422
