"""The ``tandem.profiles`` subscriber: validated contract in, one use case call."""

from tandem_chassis import Delivery
from tandem_contracts import CloudEvent, EventData, ProfileSnapshot

from tandem_matching.entrypoints.deps import Adapters
from tandem_matching.service_layer.profiles import record_profile

__all__ = ["on_profile_event"]


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
