"""In-memory fakes of the notifications unit of work's Protocols: no I/O, same contracts."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tandem_contracts import EventData, ProfileSnapshot
from tandem_notifications.config import Settings
from tandem_notifications.domain.delivery import CANCELLED, DELIVERED, PENDING, Delivery, InboxPage
from tandem_notifications.domain.notices import HeldNotice
from tandem_notifications.domain.outcomes import PassOutcome
from tandem_notifications.domain.preferences import Preferences
from tandem_notifications.domain.recipient import Recipient
from tandem_notifications.domain.reminders import CheckinSchedule
from tandem_notifications.domain.rendering import Renderer
from tandem_notifications.domain.webhook import Webhook
from tandem_notifications.service_layer.unit_of_work import UnitOfWork

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class FakeRecipients:
    people: dict[str, Recipient] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    overrides: dict[str, Preferences] = field(default_factory=dict)

    async def apply_many(self, snapshots: Iterable[ProfileSnapshot]) -> set[str]:
        return {s.employee_id for s in snapshots if await self._apply(s)}

    async def _apply(self, snapshot: ProfileSnapshot) -> bool:
        if self.versions.get(snapshot.employee_id, 0) >= snapshot.version:
            return False
        erased = snapshot.status == "erased"
        self.versions[snapshot.employee_id] = snapshot.version
        self.people[snapshot.employee_id] = Recipient(
            employee_id=snapshot.employee_id,
            status=snapshot.status,
            email=None if erased else snapshot.email,
            display_name=None if erased else snapshot.display_name,
            preferences=Preferences.from_document(
                None if erased else snapshot.notification_preferences.model_dump(mode="json")
            ),
        )
        if erased:
            self.overrides.pop(snapshot.employee_id, None)
        return True

    async def get(self, employee_id: str) -> Recipient | None:
        person = self.people.get(employee_id)
        override = self.overrides.get(employee_id)
        if person is None or override is None:
            return person
        return dataclasses.replace(person, preferences=override)

    async def get_many(self, employee_ids: Iterable[str]) -> dict[str, Recipient]:
        found = {i: await self.get(i) for i in employee_ids}
        return {i: person for i, person in found.items() if person is not None}

    async def set_preferences(self, employee_id: str, preferences: Preferences) -> bool:
        person = self.people.get(employee_id)
        if person is None or person.erased:
            return False
        self.overrides[employee_id] = preferences
        return True


@dataclass
class _Queued:
    channel: str
    due: datetime
    attempts: int
    lease: str | None = None


@dataclass
class FakeDeliveries:
    stored: dict[str, Delivery] = field(default_factory=dict)
    queue: dict[str, _Queued] = field(default_factory=dict)

    async def add(self, deliveries: Sequence[Delivery]) -> int:
        added = 0
        for delivery in deliveries:
            if delivery.id not in self.stored:
                self.stored[delivery.id] = delivery
                added += 1
            current = self.stored[delivery.id]
            if current.status == PENDING and delivery.id not in self.queue:
                self.queue[delivery.id] = _Queued(current.channel, current.next_attempt_at, current.attempts)
        return added

    async def existing(self, ids: Sequence[str]) -> set[str]:
        return set(ids) & set(self.stored)

    async def due(self, channel: str, *, now: datetime, limit: int) -> list[str]:
        return [i for i, q in self.queue.items() if q.channel == channel and q.due <= now][:limit]

    async def claim(
        self, ids: Sequence[str], *, token: str, lease_until: datetime, now: datetime
    ) -> list[Delivery]:
        claimed = []
        for i in ids:
            entry = self.queue.get(i)
            if entry is None or entry.due > now:
                continue
            entry.due, entry.lease, entry.attempts = lease_until, token, entry.attempts + 1
            if self.stored[i].status != PENDING:
                del self.queue[i]
                continue
            claimed.append(dataclasses.replace(self.stored[i], attempts=entry.attempts))
        return claimed

    async def renew(self, ids: Sequence[str], *, token: str, lease_until: datetime) -> None:
        for i in ids:
            entry = self.queue.get(i)
            if entry is not None and entry.lease == token:
                entry.due = lease_until

    async def mark(
        self, attempts: Mapping[str, int], status: str, *, at: datetime, error: str | None = None
    ) -> None:
        for i, count in attempts.items():
            finishing = (PENDING, CANCELLED) if status == DELIVERED else (PENDING,)
            if self.stored[i].status in finishing:
                changes: dict[str, Any] = {"status": status, "attempts": count}
                if error is not None:
                    changes["last_error"] = error
                self.stored[i] = dataclasses.replace(self.stored[i], **changes)
            self.queue.pop(i, None)

    async def reschedule(self, ids: Iterable[str], *, at: datetime, error: str, attempts: int) -> None:
        for i in ids:
            if self.stored[i].status == PENDING:
                self.stored[i] = dataclasses.replace(
                    self.stored[i], next_attempt_at=at, last_error=error, attempts=attempts
                )
            if i in self.queue:
                self.queue[i].due, self.queue[i].lease = at, None

    async def get(self, delivery_id: str) -> Delivery | None:
        return self.stored.get(delivery_id)

    async def inbox(self, recipient_id: str, *, limit: int, cursor: str | None) -> InboxPage:
        items = sorted(
            (
                d
                for d in self.stored.values()
                if d.recipient_id == recipient_id and d.channel == "inapp" and d.status != CANCELLED
            ),
            key=lambda d: d.inbox_key or "",
            reverse=True,
        )
        return InboxPage(items[:limit], None, sum(1 for d in items if not d.read))

    async def mark_read(self, delivery_id: str, *, at: datetime) -> None:
        self.stored[delivery_id] = dataclasses.replace(self.stored[delivery_id], read=True)

    async def cancel_pending(self, recipient_id: str, *, at: datetime) -> None:
        for i, d in list(self.stored.items()):
            if d.recipient_id == recipient_id and d.status == PENDING:
                self.stored[i] = dataclasses.replace(d, status=CANCELLED, last_error="recipient inactive")

    async def erase(self, recipient_id: str, *, at: datetime) -> int:
        await self.cancel_pending(recipient_id, at=at)
        inbox = [i for i, d in self.stored.items() if d.recipient_id == recipient_id and d.channel == "inapp"]
        for i in inbox:
            del self.stored[i]
        for i, d in list(self.stored.items()):
            if d.recipient_id == recipient_id:
                self.stored[i] = dataclasses.replace(
                    d, to=None, subject=None, text=None, html=None, body=None, attachment=None
                )
        return len(inbox)

    def of(self, *, channel: str | None = None, status: str | None = None) -> list[Delivery]:
        return [
            d
            for d in self.stored.values()
            if (channel is None or d.channel == channel) and (status is None or d.status == status)
        ]


@dataclass
class FakeHeld:
    notices: dict[str, HeldNotice] = field(default_factory=dict)

    async def hold(self, notices: Sequence[HeldNotice]) -> None:
        for held in notices:
            self.notices.setdefault(held.id, held)

    async def of(self, recipient_ids: Iterable[str]) -> list[HeldNotice]:
        wanted = set(recipient_ids)
        return [held for held in self.notices.values() if held.recipient_id in wanted]

    async def drop(self, held_ids: Iterable[str]) -> None:
        for i in list(held_ids):
            self.notices.pop(i, None)


@dataclass
class FakeReminders:
    schedules: dict[str, CheckinSchedule] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)

    async def start(self, schedule: CheckinSchedule, *, version: int) -> bool:
        if self.versions.get(schedule.mentorship_id, 0) >= version:
            return False
        self.versions[schedule.mentorship_id] = version
        self.schedules[schedule.mentorship_id] = schedule
        return True

    async def stop(self, mentorship_id: str, *, version: int) -> bool:
        if self.versions.get(mentorship_id, 0) > version:
            return False
        self.versions[mentorship_id] = version
        if mentorship_id in self.schedules:
            self.schedules[mentorship_id] = dataclasses.replace(self.schedules[mentorship_id], active=False)
        return True

    async def due(self, *, now: datetime, limit: int = 200) -> list[CheckinSchedule]:
        return [s for s in self.schedules.values() if s.active and s.next_due_at <= now][:limit]

    async def advance(
        self, mentorship_id: str, *, sent: int, next_number: int, next_due_at: datetime
    ) -> bool:
        schedule = self.schedules[mentorship_id]
        if schedule.next_number != sent:
            return False
        self.schedules[mentorship_id] = dataclasses.replace(
            schedule, next_number=next_number, next_due_at=next_due_at
        )
        return True


@dataclass
class FakeWebhooks:
    hooks: dict[str, Webhook] = field(default_factory=dict)

    async def add(self, webhook: Webhook) -> None:
        self.hooks[webhook.id] = webhook

    async def remove(self, webhook_id: str) -> bool:
        hook = self.hooks.get(webhook_id)
        if hook is None or not hook.active:
            return False
        self.hooks[webhook_id] = dataclasses.replace(hook, active=False)
        return True

    async def get(self, webhook_id: str) -> Webhook | None:
        return self.hooks.get(webhook_id)

    async def active(self) -> list[Webhook]:
        return [hook for hook in self.hooks.values() if hook.active]

    async def subscribed_to(self, event_type: str) -> list[Webhook]:
        return [hook for hook in self.hooks.values() if hook.wants(event_type)]


@dataclass
class FakeOutcomes:
    recorded: dict[str, PassOutcome] = field(default_factory=dict)
    events: list[EventData] = field(default_factory=list)
    applied_ids: set[str] = field(default_factory=set)

    async def record(
        self, outcome: PassOutcome, events: Sequence[EventData], *, applied: bool = False
    ) -> None:
        if outcome.id not in self.recorded:
            self.recorded[outcome.id] = outcome
            self.events.extend(events)
            if applied:
                self.applied_ids.add(outcome.id)

    async def unapplied(self) -> list[PassOutcome]:
        return [o for i, o in self.recorded.items() if i not in self.applied_ids]

    async def applied(self, outcome_id: str, *, at: datetime) -> None:
        self.applied_ids.add(outcome_id)


@dataclass(frozen=True)
class Fakes:
    """A unit of work of fakes, with the fakes themselves typed for assertions."""

    uow: UnitOfWork
    recipients: FakeRecipients
    deliveries: FakeDeliveries
    held: FakeHeld
    reminders: FakeReminders
    webhooks: FakeWebhooks
    outcomes: FakeOutcomes
    clock: Clock


_RENDERER = Renderer(app_url="https://tandem.example")  # templates are loaded once per test run


def fakes(**settings: Any) -> Fakes:
    defaults: dict[str, Any] = {"delivery_backoff_initial_s": 1.0, "dispatcher_poll_interval_s": 0.01}
    recipients, deliveries, held = FakeRecipients(), FakeDeliveries(), FakeHeld()
    reminders, webhooks, outcomes, clock = FakeReminders(), FakeWebhooks(), FakeOutcomes(), Clock()
    uow = UnitOfWork(
        recipients=recipients,
        deliveries=deliveries,
        held=held,
        reminders=reminders,
        webhooks=webhooks,
        outcomes=outcomes,
        settings=Settings(**(defaults | settings)),
        renderer=_RENDERER,
        clock=clock,
    )
    return Fakes(uow, recipients, deliveries, held, reminders, webhooks, outcomes, clock)
