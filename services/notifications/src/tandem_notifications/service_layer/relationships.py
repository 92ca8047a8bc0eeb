"""Use cases driven by ``tandem.relationships``: what the pair (and the admins) are told."""

from tandem_contracts import CloudEvent, RelationshipEvent

from tandem_notifications.domain.notices import Notice
from tandem_notifications.domain.relationships import relationship_intents

__all__ = ["relationship_notice"]


def relationship_notice(event: CloudEvent, data: RelationshipEvent) -> Notice:
    """The event's notifications, and its data for the webhooks subscribed to its type (the
    ``.ics`` text stays out of the webhook message)."""
    return Notice(
        event.id,
        event.type,
        event.time,
        relationship_intents(event.type, data),
        data.model_dump(mode="json", exclude={"ics"}),
    )
