"""The ``tandem.profiles`` subscriber: validated contract in, one use case call."""

from tandem_chassis import Delivery
from tandem_chassis.consumer import BatchItem
from tandem_contracts import CloudEvent, EventData, ProfileSnapshot

from tandem_matching.entrypoints.deps import Adapters
from tandem_matching.service_layer.profiles import record_profile, record_profiles

__all__ = ["on_profile_event", "on_profile_events"]


async def on_profile_event(
    event: CloudEvent, data: EventData, delivery: Delivery, *, adapters: Adapters
) -> None:
    assert isinstance(data, ProfileSnapshot)
    await record_profile(
        data,
        default_expiry=adapters.default_expiry,
        projection=adapters.projection,
        pool=adapters.pool,
        mentorships=adapters.mentorships,
        loads=adapters.loads,
        programs=adapters.programs,
    )


async def on_profile_events(items: list[BatchItem], *, adapters: Adapters) -> None:
    snapshots = [data for _, data, _ in items]
    assert all(isinstance(data, ProfileSnapshot) for data in snapshots)
    await record_profiles(
        snapshots,  # type: ignore[arg-type]
        default_expiry=adapters.default_expiry,
        projection=adapters.projection,
        pool=adapters.pool,
        mentorships=adapters.mentorships,
        loads=adapters.loads,
        programs=adapters.programs,
    )
