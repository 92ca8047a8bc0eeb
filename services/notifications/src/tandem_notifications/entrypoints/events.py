"""Kafka subscribers: validated contract in, one use case call, errors propagate.

Each topic has a batch handler (the chassis hands over up to a poll's worth of events; their
deliveries are recorded with one recipient read and one insert) and a per-event handler, which
the chassis falls back to when a batch fails, to single out a poison event.
"""

import time
from collections.abc import Iterable

from tandem_chassis.consumer import BatchItem, PermanentError
from tandem_chassis.consumer import Delivery as Origin
from tandem_chassis.logging import get_logger
from tandem_contracts import CloudEvent, EventData, MentorshipSnapshot, ProfileSnapshot, RelationshipEvent

from tandem_notifications.domain.notices import Notice
from tandem_notifications.service_layer.mentorships import mentorship_changed, program_notice
from tandem_notifications.service_layer.notify import record_notices, release_held
from tandem_notifications.service_layer.recipients import profiles_changed
from tandem_notifications.service_layer.relationships import relationship_notice
from tandem_notifications.service_layer.unit_of_work import UnitOfWork

__all__ = ["EventEntrypoints"]

log = get_logger(__name__)


class EventEntrypoints:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def on_profile(self, event: CloudEvent, data: EventData, origin: Origin) -> None:
        await self.on_profiles([(event, data, origin)])

    async def on_mentorship(self, event: CloudEvent, data: EventData, origin: Origin) -> None:
        await self.on_mentorships([(event, data, origin)])

    async def on_program(self, event: CloudEvent, data: EventData, origin: Origin) -> None:
        await self.on_programs([(event, data, origin)])

    async def on_relationship(self, event: CloudEvent, data: EventData, origin: Origin) -> None:
        await self.on_relationships([(event, data, origin)])

    # --- batches: the events' own effects in order, then all their deliveries at once ---

    async def on_profiles(self, items: list[BatchItem]) -> None:
        notices = await profiles_changed(self.uow, [(e, _profile(d)) for e, d, _ in items])
        await self._record("profiles", notices)
        await release_held(self.uow, _employees(d for _, d, _ in items))

    async def on_mentorships(self, items: list[BatchItem]) -> None:
        notices = [await mentorship_changed(self.uow, e, _mentorship(d)) for e, d, _ in items]
        await self._record("mentorships", notices)

    async def on_programs(self, items: list[BatchItem]) -> None:
        await self._record("programs", [program_notice(e, d) for e, d, _ in items])

    async def on_relationships(self, items: list[BatchItem]) -> None:
        await self._record("relationships", [relationship_notice(e, _relationship(d)) for e, d, _ in items])

    async def _record(self, what: str, notices: list[Notice]) -> None:
        started = time.perf_counter()
        added = await record_notices(self.uow, notices)
        log.debug(
            "batch recorded",
            topic=what,
            events=len(notices),
            deliveries=added,
            record_ms=round((time.perf_counter() - started) * 1000),
        )


def _profile(data: EventData) -> ProfileSnapshot:
    if not isinstance(data, ProfileSnapshot):
        raise PermanentError(f"tandem.profiles carries profile snapshots, not {type(data).__name__}")
    return data


def _mentorship(data: EventData) -> MentorshipSnapshot:
    if not isinstance(data, MentorshipSnapshot):
        raise PermanentError(f"tandem.mentorships carries mentorship snapshots, not {type(data).__name__}")
    return data


def _relationship(data: EventData) -> RelationshipEvent:
    if not isinstance(data, RelationshipEvent):
        raise PermanentError(f"tandem.relationships carries relationship events, not {type(data).__name__}")
    return data


def _employees(snapshots: Iterable[EventData]) -> set[str]:
    """Whose profiles these events projected: notifications held for them can go out now."""
    return {data.employee_id for data in snapshots if isinstance(data, ProfileSnapshot)}
