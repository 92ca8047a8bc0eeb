"""The ``tandem.profiles`` subscriber: validated contract in, one use case call."""

from tandem_chassis import Delivery
from tandem_chassis.consumer import BatchItem
from tandem_contracts import CloudEvent, EventData, ProfileSnapshot

from tandem_matching.service_layer.profiles import record_profile, record_profiles
from tandem_matching.service_layer.unit_of_work import UnitOfWork

__all__ = ["on_profile_event", "on_profile_events"]


def _snapshot(data: EventData) -> ProfileSnapshot:
    if not isinstance(data, ProfileSnapshot):  # the registry maps tandem.profiles types to these
        raise TypeError(f"not a profile snapshot: {type(data).__name__}")
    return data


async def on_profile_event(uow: UnitOfWork, event: CloudEvent, data: EventData, delivery: Delivery) -> None:
    await record_profile(uow, _snapshot(data))


async def on_profile_events(uow: UnitOfWork, items: list[BatchItem]) -> None:
    await record_profiles(uow, [_snapshot(data) for _, data, _ in items])
