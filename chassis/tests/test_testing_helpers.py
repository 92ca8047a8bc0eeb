"""Unit tests of the shared test helpers: no I/O beyond a loopback bind."""

import socket

import pytest
from tandem_chassis.testing import eventually, free_port

pytestmark = pytest.mark.unit


async def test_eventually_returns_the_first_truthy_value_of_a_sync_or_async_check() -> None:
    calls = iter([None, 0, "found"])

    async def async_check() -> str:
        return "ready"

    assert await eventually(lambda: next(calls), "a value", timeout_s=5, interval_s=0) == "found"
    assert await eventually(async_check, "ready", timeout_s=5) == "ready"


async def test_eventually_names_what_it_waited_for_and_the_last_reason_a_check_gave() -> None:
    def check() -> bool:
        raise AssertionError("3 of 5 projected")

    with pytest.raises(AssertionError, match=r"the projection: not reached within 0.05s: 3 of 5 projected"):
        await eventually(check, "the projection", timeout_s=0.05, interval_s=0.01)


async def test_eventually_keeps_polling_a_check_that_fails_an_assert_until_it_holds() -> None:
    calls = 0

    def check() -> bool:
        nonlocal calls
        calls += 1
        assert calls >= 3, f"only {calls}"
        return True

    assert await eventually(check, "three calls", timeout_s=5, interval_s=0) is True
    assert calls == 3


def test_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
