"""Who a session's invitation goes to: the parties, as the people projection knows them."""

from tandem_relationships.domain.calendar import Attendee
from tandem_relationships.domain.model import Relationship
from tandem_relationships.service_layer.ports import UnitOfWork

__all__ = ["attendees_of"]


async def attendees_of(uow: UnitOfWork, relationship: Relationship) -> list[Attendee]:
    people = await uow.people.many(list(relationship.parties))
    return [
        Attendee(
            employee_id=party,
            email=people[party].email if party in people else None,
            name=people[party].display_name if party in people else None,
        )
        for party in relationship.parties
    ]
