"""The ``tandem.relationships`` subscriber: the two events matching acts on, one use case each."""

from tandem_chassis import Delivery
from tandem_contracts import CloudEvent, EventData, RelationshipAutoClosed, RelationshipFitDeclined

from tandem_matching.service_layer.relationships import close_inactive, decline_fit
from tandem_matching.service_layer.unit_of_work import UnitOfWork

__all__ = ["on_relationship_event"]


async def on_relationship_event(
    uow: UnitOfWork, event: CloudEvent, data: EventData, delivery: Delivery
) -> None:
    """``relationship.fit_declined`` and ``.auto_closed`` end the mentorship; every other
    relationship event is none of matching's business (consumed, committed, no effect)."""
    if isinstance(data, RelationshipFitDeclined):
        await decline_fit(uow, data)
    elif isinstance(data, RelationshipAutoClosed):
        await close_inactive(uow, data)
