"""The ``hr.employees`` subscriber: validated contract in, one use case call."""

from tandem_chassis import Delivery
from tandem_chassis.consumer import BatchItem
from tandem_contracts import CloudEvent, EmployeeJoined, EmployeeLeft, EmployeeUpdated, EventData

from tandem_profiles.service_layer.profiles import HrChange, apply_hr_batch, apply_hr_change
from tandem_profiles.service_layer.unit_of_work import UnitOfWork

__all__ = ["on_hr_batch", "on_hr_event"]


async def on_hr_event(event: CloudEvent, data: EventData, delivery: Delivery, *, uow: UnitOfWork) -> None:
    assert isinstance(data, EmployeeJoined | EmployeeUpdated | EmployeeLeft)
    await apply_hr_change(data, event_id=event.id, time=event.time, uow=uow)


async def on_hr_batch(items: list[BatchItem], *, uow: UnitOfWork) -> None:
    changes = []
    for event, data, _ in items:
        assert isinstance(data, EmployeeJoined | EmployeeUpdated | EmployeeLeft)
        changes.append(HrChange(event=data, event_id=event.id, time=event.time))
    await apply_hr_batch(changes, uow=uow)
