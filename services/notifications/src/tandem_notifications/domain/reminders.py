"""Check-in reminder schedule of an active mentorship: reminder n is due at start + n * interval."""

import math
from datetime import datetime, timedelta

__all__ = ["due_at", "next_number"]


def due_at(started_at: datetime, interval: timedelta, number: int) -> datetime:
    return started_at + number * interval


def next_number(started_at: datetime, interval: timedelta, *, after: int, now: datetime) -> int:
    """The reminder to schedule after ``after`` was sent: never one already past (no catch-up burst)."""
    elapsed = max((now - started_at) / interval, 0.0)
    return max(after + 1, math.floor(elapsed) + 1)
