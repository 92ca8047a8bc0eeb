"""The unit of work every use case receives: repositories, publisher, clock, settings.

``bootstrap.py`` builds the one real instance (Mongo adapters); unit tests build one of
in-memory fakes. The repositories are :class:`typing.Protocol` s that take and return domain
objects, so no store document reaches the service layer.
"""

import asyncio
import heapq
from collections import defaultdict
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
    async def existing(self, ids: Sequence[str]) -> set[str]: ...
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

    async def record(
        self, outcome: PassOutcome, events: Sequence[EventData], *, applied: bool = False
    ) -> None: ...
    async def unapplied(self) -> list[PassOutcome]: ...
    async def applied(self, outcome_id: str, *, at: datetime) -> None: ...


class DeliverySignals:
    """Wakes the dispatcher of a channel as soon as deliveries for it are recorded, and hints
    which ones and when they are due.

    The hints let a dispatcher pass claim by ``_id`` what this process recorded, instead of
    asking the store for everything due (a query the local store answers by reading the whole
    queue, backlog included). They are only hints: a claim is guarded by the queue entry, so a
    stale hint claims nothing, and the dispatcher still scans the queue now and then for what no
    hint names (other replicas' deliveries, expired leases, work recorded before a restart).
    Past ``max_hints`` waiting for one channel the hints are dropped and the channel is marked
    ``overflowed``, which tells its dispatcher to scan.
    """

    def __init__(self, *, max_hints: int = 100_000) -> None:
        self.max_hints = max_hints
        self._events: dict[str, asyncio.Event] = {}
        self._due: dict[str, list[tuple[datetime, str]]] = defaultdict(list)  # a heap per channel
        self._waiting: dict[str, set[str]] = defaultdict(set)  # hinted, not taken yet
        self._overflowed: set[str] = set()

    def _event(self, channel: str) -> asyncio.Event:
        return self._events.setdefault(channel, asyncio.Event())

    def ring(self, channels: Iterable[str]) -> None:
        for channel in channels:
            self._event(channel).set()

    def hint(self, deliveries: Iterable[Delivery]) -> None:
        """Deliveries just recorded: remember each by channel and due time, and ring."""
        channels: set[str] = set()
        for delivery in deliveries:
            self.hint_ids(delivery.channel, [delivery.id], delivery.next_attempt_at, ring=False)
            channels.add(delivery.channel)
        self.ring(channels)

    def hint_ids(self, channel: str, ids: Iterable[str], due: datetime, *, ring: bool = True) -> None:
        """Deliveries of ``channel`` due at ``due`` (a rescheduled retry, for example)."""
        heap, waiting = self._due[channel], self._waiting[channel]
        for delivery_id in ids:
            heapq.heappush(heap, (due, delivery_id))
            waiting.add(delivery_id)
        if len(heap) > self.max_hints:
            heap.clear()
            waiting.clear()
            self._overflowed.add(channel)
        if ring:
            self.ring([channel])

    def take_due(self, channel: str, *, now: datetime, limit: int) -> list[str]:
        """Up to ``limit`` hinted ids of ``channel`` due at ``now``, soonest first (forgotten here)."""
        heap, waiting = self._due[channel], self._waiting[channel]
        taken: list[str] = []
        while heap and heap[0][0] <= now and len(taken) < limit:
            delivery_id = heapq.heappop(heap)[1]
            if delivery_id in waiting:  # not taken already (by a scan, or hinted twice)
                waiting.discard(delivery_id)
                taken.append(delivery_id)
        return taken

    def unhinted(self, channel: str, ids: Iterable[str]) -> list[str]:
        """Which of ``ids`` (found by a scan) no hint names; the hinted ones are forgotten here,
        as the pass that found them claims them now."""
        waiting, found = self._waiting[channel], []
        for delivery_id in ids:
            if delivery_id in waiting:
                waiting.discard(delivery_id)
            else:
                found.append(delivery_id)
        return found

    def overflowed(self, channel: str) -> bool:
        """Whether hints of ``channel`` were dropped since the last call (then: scan the queue)."""
        dropped = channel in self._overflowed
        self._overflowed.discard(channel)
        return dropped

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
