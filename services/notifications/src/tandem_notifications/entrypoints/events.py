"""Kafka subscribers: validated contract in, one use case call, errors propagate.

Each topic has a batch handler (the chassis hands over up to a poll's worth of events; their
deliveries are recorded with one recipient read and one insert) and a per-event handler, which
the chassis falls back to when a batch fails, to single out a poison event.
"""

import time
from dataclasses import dataclass
from datetime import timedelta

from tandem_chassis import Delivery
from tandem_chassis.consumer import BatchItem
from tandem_chassis.logging import get_logger
from tandem_contracts import CloudEvent, EventData, MentorshipSnapshot, ProfileSnapshot

from tandem_notifications.adapters.deliveries import DeliveryRepository
from tandem_notifications.adapters.recipients import RecipientProjection
from tandem_notifications.adapters.reminders import ReminderRepository
from tandem_notifications.service_layer.mentorships import mentorship_changed, program_notice
from tandem_notifications.service_layer.notify import Notice, Recorder
from tandem_notifications.service_layer.recipients import profile_changed

__all__ = ["EventEntrypoints"]

log = get_logger(__name__)


@dataclass
class EventEntrypoints:
    recipients: RecipientProjection
    deliveries: DeliveryRepository
    reminders: ReminderRepository
    recorder: Recorder
    checkin_interval: timedelta

    async def _profile_notice(self, event: CloudEvent, data: EventData) -> Notice:
        assert isinstance(data, ProfileSnapshot)
        return await profile_changed(
            data,
            event_id=event.id,
            event_type=event.type,
            event_time=event.time,
            projection=self.recipients,
            deliveries=self.deliveries,
        )

    async def _mentorship_notice(self, event: CloudEvent, data: EventData) -> Notice:
        assert isinstance(data, MentorshipSnapshot)
        return await mentorship_changed(
            data,
            event_id=event.id,
            event_type=event.type,
            event_time=event.time,
            reminders=self.reminders,
            checkin_interval=self.checkin_interval,
        )

    async def _program_notice(self, event: CloudEvent, data: EventData) -> Notice:
        return program_notice(data, event_id=event.id, event_type=event.type, event_time=event.time)

    async def on_profile(self, event: CloudEvent, data: EventData, delivery: Delivery) -> None:
        await self.recorder.record_many([await self._profile_notice(event, data)])
        await self.recorder.release(_employees([data]))

    async def on_mentorship(self, event: CloudEvent, data: EventData, delivery: Delivery) -> None:
        await self.recorder.record_many([await self._mentorship_notice(event, data)])

    async def on_program(self, event: CloudEvent, data: EventData, delivery: Delivery) -> None:
        await self.recorder.record_many([await self._program_notice(event, data)])

    # --- batches: the events' own effects in order, then all their deliveries at once ---

    async def on_profiles(self, items: list[BatchItem]) -> None:
        await self._batch("profiles", items, [await self._profile_notice(e, d) for e, d, _ in items])
        await self.recorder.release(_employees([d for _, d, _ in items]))

    async def on_mentorships(self, items: list[BatchItem]) -> None:
        await self._batch("mentorships", items, [await self._mentorship_notice(e, d) for e, d, _ in items])

    async def on_programs(self, items: list[BatchItem]) -> None:
        await self._batch("programs", items, [await self._program_notice(e, d) for e, d, _ in items])

    async def _batch(self, what: str, items: list[BatchItem], notices: list[Notice]) -> None:
        started = time.perf_counter()
        added = await self.recorder.record_many(notices)
        log.debug(
            "batch recorded",
            topic=what,
            events=len(items),
            deliveries=added,
            record_ms=round((time.perf_counter() - started) * 1000),
        )


def _employees(snapshots: list[EventData]) -> set[str]:
    """Whose profiles these events projected: notifications held for them can go out now."""
    return {data.employee_id for data in snapshots if isinstance(data, ProfileSnapshot)}
