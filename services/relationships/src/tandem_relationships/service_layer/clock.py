"""Clocks: the system's (optionally shifted, for demos) and one tests set by hand."""

from datetime import UTC, datetime, timedelta

__all__ = ["SettableClock", "SystemClock"]


def _store_precision(moment: datetime) -> datetime:
    """Milliseconds, as the store keeps them, so what is answered equals what is stored."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class SystemClock:
    def __init__(self, offset_s: float = 0) -> None:
        self.offset = timedelta(seconds=offset_s)

    def now(self) -> datetime:
        return _store_precision(datetime.now(UTC) + self.offset)


class SettableClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return _store_precision(self.at)

    def set(self, at: datetime) -> None:
        self.at = at

    def advance(self, by: timedelta) -> None:
        self.at += by
