"""Check-in reminder schedule of an active mentorship: reminder n is due at start + n * interval."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["CheckinSchedule", "checkin_event_id", "due_at", "next_number"]


@dataclass(frozen=True, slots=True)
class CheckinSchedule:
    """The check-in reminders of one mentorship; ``next_number`` is the next one to send."""

    mentorship_id: str
    mentor_id: str
    mentee_id: str
    started_at: datetime
    next_due_at: datetime
    next_number: int = 1
    active: bool = True


def checkin_event_id(mentorship_id: str, number: int) -> str:
    return f"checkin:{mentorship_id}:{number}"


def due_at(started_at: datetime, interval: timedelta, number: int) -> datetime:
    return started_at + number * interval


def next_number(started_at: datetime, interval: timedelta, *, after: int, now: datetime) -> int:
    """The reminder to schedule after ``after`` was sent: never one already past (no catch-up burst)."""
    elapsed = max((now - started_at) / interval, 0.0)
    return max(after + 1, math.floor(elapsed) + 1)
