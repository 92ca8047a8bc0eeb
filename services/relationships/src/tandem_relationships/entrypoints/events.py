"""The Kafka subscribers: a validated contract in, one use case call."""

from tandem_chassis import Delivery
from tandem_chassis.consumer import BatchItem
from tandem_contracts import CloudEvent, EventData, MentorshipSnapshot, ProfileSnapshot, ProgramCreated

from tandem_relationships.service_layer import lifecycle
from tandem_relationships.service_layer.ports import UnitOfWork

__all__ = ["on_mentorship_event", "on_profile_event", "on_profile_events", "on_program_event"]


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
    await on_profile_events(uow, [(event, data, delivery)])


async def on_profile_events(uow: UnitOfWork, items: list[BatchItem]) -> None:
    """A batch of ``tandem.profiles``: the people projection in one write."""
    await lifecycle.record_profiles(uow, [data for _, data, _ in items if isinstance(data, ProfileSnapshot)])


async def on_program_event(uow: UnitOfWork, event: CloudEvent, data: EventData, delivery: Delivery) -> None:
    if isinstance(data, ProgramCreated):
        await lifecycle.record_program(uow, data)
