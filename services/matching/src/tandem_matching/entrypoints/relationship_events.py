"""The ``tandem.relationships`` subscriber: the three events matching acts on, one use case each."""

from tandem_chassis import Delivery
from tandem_contracts import (
    CloudEvent,
    EventData,
    RelationshipAutoClosed,
    RelationshipFitDeclined,
    RelationshipOutcomeRecorded,
)

from tandem_matching.service_layer.learning import record_outcome
from tandem_matching.service_layer.relationships import close_inactive, decline_fit
from tandem_matching.service_layer.unit_of_work import UnitOfWork

__all__ = ["on_relationship_event"]


async def on_relationship_event(
    uow: UnitOfWork, event: CloudEvent, data: EventData, delivery: Delivery
) -> None:
    """``relationship.fit_declined`` and ``.auto_closed`` end the mentorship, ``.outcome_recorded``
    is kept to learn weights from; every other relationship event is none of matching's
    business (consumed, committed, no effect)."""
    if isinstance(data, RelationshipFitDeclined):
        await decline_fit(uow, data)
    elif isinstance(data, RelationshipAutoClosed):
        await close_inactive(uow, data)
    elif isinstance(data, RelationshipOutcomeRecorded):
        await record_outcome(uow, data)
