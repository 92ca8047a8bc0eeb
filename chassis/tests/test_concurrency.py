"""Unit tests of the chassis concurrency helpers: no I/O."""

import asyncio
import contextlib

import pytest
import structlog
from tandem_chassis.concurrency import (
    ConflictError,
    Retry,
    every,
    keyed_lock,
    retry_on_conflict,
    stop_tasks,
    wait_event,
)

pytestmark = pytest.mark.unit


async def test_keyed_lock_serialises_holders_of_one_key_and_not_of_others() -> None:
    order: list[str] = []

    async def hold(key: str, name: str) -> None:
        async with keyed_lock(key):
            order.append(f"{name}+")
            await asyncio.sleep(0.01)
            order.append(f"{name}-")

    await asyncio.gather(hold("a", "1"), hold("a", "2"), hold("b", "3"))
    assert order.index("1-") < order.index("2+")
    assert order.index("3+") < order.index("1-")


async def test_retry_on_conflict_runs_again_until_an_attempt_wins() -> None:
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise Retry
        return "won"

    assert await retry_on_conflict(attempt, what="profile x") == "won"
    assert calls == 3


async def test_retry_on_conflict_gives_up_with_a_conflict_error_naming_what() -> None:
    async def attempt() -> None:
        raise Retry

    with pytest.raises(ConflictError, match="profile x kept changing") as raised:
        await retry_on_conflict(attempt, what="profile x", attempts=4)
    assert raised.value.reason == "concurrent_update"


async def test_every_logs_a_failing_run_with_its_traceback_and_keeps_going() -> None:
    runs = 0

    async def job() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise ValueError("a bug in the job")

    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(every("demo", 0.01, job))
        for _ in range(200):
            await asyncio.sleep(0.01)
            if runs >= 3:
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert runs >= 3
    failures = [entry for entry in logs if entry["event"] == "periodic job failed; backing off"]
    assert len(failures) == 1
    assert failures[0]["log_level"] == "error" and failures[0]["exc_info"] is True
    assert failures[0]["job"] == "demo"


async def test_every_backs_off_while_the_job_keeps_failing_up_to_the_ceiling() -> None:
    runs = 0
    fifth = asyncio.Event()

    async def job() -> None:
        nonlocal runs
        runs += 1
        if runs == 5:
            fifth.set()
        raise ConnectionError("store down")

    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(every("down", 0.01, job, max_backoff_s=0.04))
        await asyncio.wait_for(fifth.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    pauses = [entry["retry_in_s"] for entry in logs][:5]
    assert pauses == [0.01, 0.02, 0.04, 0.04, 0.04]


async def test_every_with_a_wake_event_runs_again_as_soon_as_it_is_set() -> None:
    wake = asyncio.Event()
    runs = 0
    second = asyncio.Event()

    async def job() -> None:
        nonlocal runs
        runs += 1
        if runs == 2:
            second.set()

    task = asyncio.create_task(every("woken", 3600, job, wake=wake))
    for _ in range(100):
        await asyncio.sleep(0)
    assert runs == 1, "without a wake-up it waits its interval"
    wake.set()
    await asyncio.wait_for(second.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert runs == 2


async def test_every_with_a_wake_event_ends_when_cancelled_as_the_event_is_set() -> None:
    """The race that hung a service's shutdown: on Python 3.11 ``asyncio.wait_for`` swallowed a
    cancellation arriving in the turn the wake event was set, so the loop went on forever."""
    wake = asyncio.Event()
    waiting = asyncio.Event()

    async def job() -> None:
        waiting.set()

    task = asyncio.create_task(every("woken", 3600, job, wake=wake))
    await waiting.wait()
    await asyncio.sleep(0)
    wake.set()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert task in done, "the cancelled loop is still running"
    assert task.cancelled()


async def test_wait_event_says_whether_the_event_was_set() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    asyncio.get_running_loop().call_soon(event.set)
    assert await wait_event(event, 5) is True


async def test_stop_tasks_ends_the_cancellable_and_leaves_a_stubborn_task_behind() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)

    polite = asyncio.create_task(asyncio.sleep(3600))
    rude = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await stop_tasks([polite, rude], grace_s=0.2)
    assert polite.cancelled()
    assert not rude.done(), "the shutdown went on without waiting forever"
    release.set()
    rude.cancel()
    await asyncio.wait({rude}, timeout=5)
    assert rude.done()
