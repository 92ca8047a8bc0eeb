"""Waiting for the platform to get somewhere: the one polling loop of the CLI."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tandem_cli.errors import CliError

__all__ = ["until"]

T = TypeVar("T")


async def until(
    check: Callable[[], Awaitable[T | None]], *, what: str, timeout_s: float, every_s: float = 0.5
) -> T:
    """The first truthy result of ``check``; a :class:`CliError` after ``timeout_s``."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise CliError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        await asyncio.sleep(every_s)
