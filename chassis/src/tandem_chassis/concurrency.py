"""Concurrency glue every service needs once: per-key locks, retry on conflict, periodic jobs.

- :func:`keyed_lock` keeps this process's writers to one aggregate in line (the version check of
  the write covers the other replicas).
- :func:`retry_on_conflict` re-runs a read-decide-write attempt that lost a version race;
  after the last attempt it raises :class:`ConflictError`, which the HTTP layer answers with 409.
- :func:`every` runs a job on an interval; a failure is logged with its traceback (a bug is loud
  the first time) and the next run waits longer, up to a ceiling, until a run succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from tandem_chassis.logging import get_logger

__all__ = ["ConflictError", "Retry", "every", "keyed_lock", "retry_on_conflict"]

log = get_logger(__name__)
T = TypeVar("T")

_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


class ConflictError(RuntimeError):
    """A write kept losing to concurrent writers, or the state changed under the caller.

    ``reason`` is a short machine-readable word for clients (HTTP 409 body ``reason``).
    """

    def __init__(self, message: str, *, reason: str = "concurrent_update") -> None:
        super().__init__(message)
        self.reason = reason


class Retry(Exception):  # noqa: N818 - it is an instruction, not an error condition
    """Raised by an attempt passed to :func:`retry_on_conflict`: it lost a race, run it again."""


@contextlib.asynccontextmanager
async def keyed_lock(key: str) -> AsyncIterator[None]:
    """Hold this process's lock for ``key`` (an aggregate id, with a kind prefix if ids clash).

    Locks live only while someone holds or waits for them.
    """
    lock = _locks.get(key)
    if lock is None:
        lock = _locks[key] = asyncio.Lock()
    async with lock:
        yield


async def retry_on_conflict(attempt: Callable[[], Awaitable[T]], *, what: str, attempts: int = 20) -> T:
    """Run ``attempt`` until it returns without raising :class:`Retry`; at most ``attempts`` times.

    Raises :class:`ConflictError` naming ``what`` when every attempt lost.
    """
    for _ in range(attempts):
        try:
            return await attempt()
        except Retry:
            await asyncio.sleep(0)  # let the winner finish its write before reading again
    raise ConflictError(f"{what} kept changing under us")


async def every(
    name: str,
    interval_s: float,
    job: Callable[[], Awaitable[object]],
    *,
    max_backoff_s: float | None = None,
    wake: asyncio.Event | None = None,
) -> None:
    """Run ``job`` every ``interval_s`` seconds until cancelled.

    A failing run is logged with its traceback; the pause before the next run doubles after each
    failure in a row (up to ``max_backoff_s``, default 10 intervals, at least 30 s) and returns to
    ``interval_s`` after a success. Cancellation (shutdown) ends the loop at once. With ``wake``,
    the pause after a success ends as soon as the event is set (by new work, or by the job
    itself when there is more to do); it is cleared before each run, so a set during a run
    counts.
    """
    ceiling = max_backoff_s if max_backoff_s is not None else max(30.0, 10 * interval_s)
    pause = interval_s
    while True:
        if wake is not None:
            wake.clear()
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:  # the loop must outlive a store outage, but never hide the cause
            log.exception("periodic job failed; backing off", job=name, retry_in_s=pause)
            await asyncio.sleep(pause)
            pause = min(ceiling, pause * 2)
            continue
        pause = interval_s
        if wake is None:
            await asyncio.sleep(interval_s)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), interval_s)
