"""Unit tests of the relay's loop (its passes faked): wake-ups, backoff with a traceback, shutdown."""

import asyncio

import pytest
import structlog
from tandem_chassis.outbox import OutboxRelay

pytestmark = pytest.mark.unit


def relay_with(passes: list[object], poll_interval_s: float = 3600) -> tuple[OutboxRelay, list[int]]:
    """A relay whose passes return (or raise) the given results in turn, then publish nothing."""
    relay = OutboxRelay(None, [], poll_interval_s=poll_interval_s)
    calls: list[int] = []

    async def drain_once() -> int:
        calls.append(len(calls))
        result = passes[len(calls) - 1] if len(calls) <= len(passes) else 0
        if isinstance(result, BaseException):
            raise result
        return int(result)

    relay.drain_once = drain_once
    return relay, calls


async def settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


async def test_a_pass_that_published_is_followed_at_once_and_a_write_wakes_the_relay() -> None:
    relay, calls = relay_with([5, 2])
    relay.start()
    await settle()
    assert len(calls) == 3, "after passes that published, it drains again until nothing is left"
    relay.wake.set()
    await settle()
    assert len(calls) == 4, "a write wakes it before the poll interval"
    await relay.stop()


async def test_a_failing_pass_is_logged_with_its_traceback_and_retried_after_a_pause() -> None:
    relay, calls = relay_with([ConnectionError("store down"), 1], poll_interval_s=0.01)
    with structlog.testing.capture_logs() as logs:
        relay.start()
        for _ in range(500):
            await asyncio.sleep(0.01)
            if len(calls) >= 3:
                break
        await relay.stop()
    (failure,) = [entry for entry in logs if entry.get("job") == "outbox-relay"]
    assert failure["log_level"] == "error" and failure["exc_info"] is True
    assert len(calls) >= 3


async def test_a_failing_shutdown_drain_is_logged_not_dropped() -> None:
    relay, _ = relay_with([0, ConnectionError("broker gone")])
    relay.start()
    await settle()
    with structlog.testing.capture_logs() as logs:
        await relay.stop()
    assert [entry["log_level"] for entry in logs if "shutdown drain failed" in entry["event"]] == ["error"]
