"""The ``hr.employees`` subscriber: validated contract in, one use case call."""

from tandem_chassis import Delivery
from tandem_contracts import CloudEvent, EmployeeJoined, EmployeeLeft, EmployeeUpdated, EventData
from tandem_profiles.adapters.repository import ProfileRepository
from tandem_profiles.service_layer.profiles import apply_hr_change

__all__ = ["on_hr_event"]


async def on_hr_event(
    event: CloudEvent, data: EventData, delivery: Delivery, *, repository: ProfileRepository
) -> None:
    assert isinstance(data, EmployeeJoined | EmployeeUpdated | EmployeeLeft)
    await apply_hr_change(data, event_id=event.id, time=event.time, repository=repository)
