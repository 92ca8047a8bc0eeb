"""Errors the use cases raise; the entrypoints map them to HTTP statuses."""

__all__ = ["ConcurrentUpdateError", "NotFoundError", "RequestRefusedError"]


class NotFoundError(LookupError):
    """No such profile, mentorship, program or round."""


class RequestRefusedError(Exception):
    """The request conflicts with the current state; ``reason`` is a stable code."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        self.reason = reason
        super().__init__(message or reason)


class ConcurrentUpdateError(RuntimeError):
    """Too many concurrent writers to one document."""
