"""The current time at MongoDB's precision, so what is answered equals what is stored."""

from datetime import UTC, datetime

__all__ = ["utcnow"]


def utcnow() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
