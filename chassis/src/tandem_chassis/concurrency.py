"""Concurrency glue every service needs once: per-key locks, retry on conflict, periodic jobs.

- :func:`keyed_lock` keeps this process's writers to one aggregate in line (the version check of
  the write covers the other replicas).
- :func:`retry_on_conflict` re-runs a read-decide-write attempt that lost a version race;
  after the last attempt it raises :class:`ConflictError`, which the HTTP layer answers with 409.
- :func:`every` runs a job on an interval; a failure is logged with its traceback (a bug is loud
  the first time) and the next run waits longer, up to a ceiling, until a run succeeds.
- :func:`stop_tasks` cancels tasks and waits a bounded time for them: a shutdown never hangs.
- :func:`wait_event` waits for an event or a timeout and, unlike ``asyncio.wait_for`` on Python
  3.11, never swallows a cancellation that arrives as the event is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TypeVar

from tandem_chassis.logging import get_logger

__all__ = ["ConflictError", "Retry", "every", "keyed_lock", "retry_on_conflict", "stop_tasks", "wait_event"]

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
        await wait_event(wake, interval_s)


async def wait_event(event: asyncio.Event, timeout_s: float) -> bool:
    """Wait until ``event`` is set or ``timeout_s`` has passed; True when it was set.

    ``asyncio.wait_for`` on Python 3.11 returns normally when the task is cancelled in the same
    loop turn as the event is set, so a loop around it never ends and a shutdown that awaits the
    cancelled task hangs (gh-86296, fixed in 3.12); ``asyncio.timeout`` re-raises the
    cancellation.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await event.wait()
    return event.is_set()


async def stop_tasks(tasks: Iterable[asyncio.Task[object]], *, grace_s: float = 10.0) -> None:
    """Cancel ``tasks`` and wait up to ``grace_s`` for them to end; log the ones that did not.

    A task that ignores its cancellation (a bug) is left behind with an error in the log, so a
    shutdown goes on instead of hanging.
    """
    pending = {task for task in tasks if not task.done()}
    for task in pending:
        task.cancel()
    if not pending:
        return
    ended, stuck = await asyncio.wait(pending, timeout=grace_s)
    for task in ended:
        if not task.cancelled() and task.exception() is not None:
            log.error("a task had failed before shutdown", task=task.get_name(), exc_info=task.exception())
    for task in stuck:
        log.error("a task did not end when cancelled; shutdown goes on without it", task=task.get_name())
