"""Errors the use cases raise; the entrypoints map them to HTTP statuses (a write that kept
losing to concurrent writers is the chassis' ``ConflictError``: 409)."""

__all__ = ["NotFoundError", "RequestRefusedError"]


class NotFoundError(LookupError):
    """No such profile, mentorship, program or round."""


class RequestRefusedError(Exception):
    """The request conflicts with the current state; ``reason`` is a stable code."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        self.reason = reason
        super().__init__(message or reason)
