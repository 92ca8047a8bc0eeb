"""The unit of work every use case receives: repositories, publisher, clock, settings.

``bootstrap.py`` builds the one real instance (Mongo adapters); unit tests build one of
in-memory fakes. The repositories are :class:`typing.Protocol` s that take and return domain
objects, so no store document reaches the service layer.
"""

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from tandem_chassis.concurrency import wait_event
from tandem_contracts import EventData, ProfileSnapshot

from tandem_notifications.config import Settings
from tandem_notifications.domain.backoff import RetryPolicy
from tandem_notifications.domain.delivery import Delivery, InboxPage
from tandem_notifications.domain.notices import HeldNotice
from tandem_notifications.domain.outcomes import PassOutcome
from tandem_notifications.domain.preferences import Preferences
from tandem_notifications.domain.recipient import Recipient
from tandem_notifications.domain.reminders import CheckinSchedule
from tandem_notifications.domain.rendering import Renderer
from tandem_notifications.domain.webhook import Webhook

__all__ = [
    "Deliveries",
    "DeliverySignals",
    "HeldNotices",
    "Outcomes",
    "Recipients",
    "Reminders",
    "UnitOfWork",
    "Webhooks",
    "utc_now",
]


class Recipients(Protocol):
    """The projection of ``tandem.profiles``: who can be notified, and how."""

    async def apply_many(self, snapshots: Iterable[ProfileSnapshot]) -> set[str]: ...
    async def get(self, employee_id: str) -> Recipient | None: ...
    async def get_many(self, employee_ids: Iterable[str]) -> dict[str, Recipient]: ...
    async def set_preferences(self, employee_id: str, preferences: Preferences) -> bool: ...


class Deliveries(Protocol):
    """Deliveries and the queue of the pending ones (see ``adapters/deliveries.py``)."""

    async def add(self, deliveries: Sequence[Delivery]) -> int: ...
    async def due(self, channel: str, *, now: datetime, limit: int) -> list[str]: ...
    async def claim(
        self, ids: Sequence[str], *, token: str, lease_until: datetime, now: datetime
    ) -> list[Delivery]: ...
    async def renew(self, ids: Sequence[str], *, token: str, lease_until: datetime) -> None: ...
    async def mark(
        self, attempts: Mapping[str, int], status: str, *, at: datetime, error: str | None = None
    ) -> None: ...
    async def reschedule(self, ids: Iterable[str], *, at: datetime, error: str, attempts: int) -> None: ...
    async def get(self, delivery_id: str) -> Delivery | None: ...
    async def inbox(self, recipient_id: str, *, limit: int, cursor: str | None) -> InboxPage: ...
    async def mark_read(self, delivery_id: str, *, at: datetime) -> None: ...
    async def cancel_pending(self, recipient_id: str, *, at: datetime) -> None: ...
    async def erase(self, recipient_id: str, *, at: datetime) -> int: ...


class HeldNotices(Protocol):
    async def hold(self, notices: Sequence[HeldNotice]) -> None: ...
    async def of(self, recipient_ids: Iterable[str]) -> list[HeldNotice]: ...
    async def drop(self, held_ids: Iterable[str]) -> None: ...


class Reminders(Protocol):
    """Check-in schedules, keyed by mentorship; ``version`` is the mentorship's."""

    async def start(self, schedule: CheckinSchedule, *, version: int) -> bool: ...
    async def stop(self, mentorship_id: str, *, version: int) -> bool: ...
    async def due(self, *, now: datetime, limit: int = 200) -> list[CheckinSchedule]: ...
    async def advance(
        self, mentorship_id: str, *, sent: int, next_number: int, next_due_at: datetime
    ) -> bool: ...


class Webhooks(Protocol):
    async def add(self, webhook: Webhook) -> None: ...
    async def remove(self, webhook_id: str) -> bool: ...
    async def get(self, webhook_id: str) -> Webhook | None: ...
    async def active(self) -> list[Webhook]: ...
    async def subscribed_to(self, event_type: str) -> list[Webhook]: ...


class Outcomes(Protocol):
    """The publisher: a pass outcome and its ``notification.*`` events are stored in one write
    (an outbox), then applied to the deliveries."""

    async def record(self, outcome: PassOutcome, events: Sequence[EventData]) -> None: ...
    async def unapplied(self) -> list[PassOutcome]: ...
    async def applied(self, outcome_id: str, *, at: datetime) -> None: ...


class DeliverySignals:
    """Wakes the dispatcher of a channel as soon as deliveries for it are recorded."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def _event(self, channel: str) -> asyncio.Event:
        return self._events.setdefault(channel, asyncio.Event())

    def ring(self, channels: Iterable[str]) -> None:
        for channel in channels:
            self._event(channel).set()

    async def wait(self, channel: str, timeout_s: float) -> None:
        """Return when ``channel`` is rung (since the last wait) or after ``timeout_s``."""
        event = self._event(channel)
        await wait_event(event, timeout_s)
        event.clear()


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitOfWork:
    recipients: Recipients
    deliveries: Deliveries
    held: HeldNotices
    reminders: Reminders
    webhooks: Webhooks
    outcomes: Outcomes
    settings: Settings
    renderer: Renderer
    signals: DeliverySignals = field(default_factory=DeliverySignals)
    clock: Callable[[], datetime] = utc_now

    @property
    def retry_policy(self) -> RetryPolicy:
        s = self.settings
        return RetryPolicy(s.delivery_max_attempts, s.delivery_backoff_initial_s, s.delivery_backoff_max_s)
