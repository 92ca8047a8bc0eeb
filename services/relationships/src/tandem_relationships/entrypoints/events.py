"""The Kafka subscribers: a validated contract in, one use case call."""

from tandem_chassis import Delivery
from tandem_contracts import CloudEvent, EventData, MentorshipSnapshot, ProfileSnapshot, ProgramCreated

from tandem_relationships.service_layer import lifecycle
from tandem_relationships.service_layer.ports import UnitOfWork

__all__ = ["on_mentorship_event", "on_profile_event", "on_program_event"]


async def on_mentorship_event(
    uow: UnitOfWork, event: CloudEvent, data: EventData, delivery: Delivery
) -> None:
    if not isinstance(data, MentorshipSnapshot):
        return
    if event.type == "mentorship.accepted":
        await lifecycle.open_relationship(uow, data, event_id=event.id)
    elif event.type == "mentorship.ended":
        await lifecycle.close_relationship(uow, data, event_id=event.id)


async def on_profile_event(uow: UnitOfWork, event: CloudEvent, data: EventData, delivery: Delivery) -> None:
    if isinstance(data, ProfileSnapshot):
        await lifecycle.record_profile(uow, data, event_id=event.id)


async def on_program_event(uow: UnitOfWork, event: CloudEvent, data: EventData, delivery: Delivery) -> None:
    if isinstance(data, ProgramCreated):
        await lifecycle.record_program(uow, data)
