"""Retry policy of deliveries: exponential backoff with jitter, a bounded number of attempts."""

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    initial_s: float
    max_s: float

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts

    def delay_s(self, attempts: int, rand: Callable[[], float] = random.random) -> float:
        """Delay after the ``attempts``-th failed attempt: half fixed, half random ("equal jitter")."""
        ceiling = min(self.max_s, self.initial_s * 2.0 ** max(attempts - 1, 0))
        return ceiling / 2 + rand() * ceiling / 2
