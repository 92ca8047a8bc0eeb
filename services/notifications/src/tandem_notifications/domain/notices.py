"""From an event's reasons to notify to deliveries: pure, no I/O.

A :class:`Notice` is what one event asks for; :func:`personal_deliveries` and
:func:`webhook_deliveries` turn it into one :class:`Delivery` per (event, recipient, channel),
with deterministic ids, so recording the same event twice yields the same deliveries. A
notification for someone not projected yet becomes a :class:`HeldNotice` until they are.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tandem_notifications.domain.delivery import NO_EMAIL_ADDRESS, PENDING, SKIPPED, Delivery, delivery_id
from tandem_notifications.domain.kinds import Intent
from tandem_notifications.domain.recipient import Recipient
from tandem_notifications.domain.rendering import Renderer
from tandem_notifications.domain.webhook import Webhook

__all__ = ["HeldNotice", "Notice", "Occasion", "personal_deliveries", "webhook_deliveries"]


@dataclass(frozen=True, slots=True)
class Notice:
    """One event's reason to notify: what to tell whom, and the data for webhooks."""

    event_id: str
    event_type: str
    event_time: datetime | None
    intents: Sequence[Intent]
    webhook_data: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Occasion:
    """The event a delivery is recorded for, and when it was recorded."""

    event_id: str
    event_type: str
    event_time: datetime
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class HeldNotice:
    """A notification for someone whose profile is not projected yet; one per (event, recipient,
    variant), so a redelivered event holds nothing twice."""

    id: str
    intent: Intent
    event_id: str
    event_type: str
    event_time: datetime

    @classmethod
    def of(cls, intent: Intent, occasion: Occasion) -> "HeldNotice":
        return cls(
            id=f"{intent.source_id(occasion.event_id)}:{intent.recipient_id}",
            intent=intent,
            event_id=occasion.event_id,
            event_type=occasion.event_type,
            event_time=occasion.event_time,
        )

    @property
    def recipient_id(self) -> str:
        return self.intent.recipient_id

    def occasion(self, recorded_at: datetime) -> Occasion:
        return Occasion(self.event_id, self.event_type, self.event_time, recorded_at)


def _name(person: Recipient | None, fallback: str) -> str:
    return (person.display_name if person else None) or fallback


def personal_deliveries(
    intent: Intent, people: Mapping[str, Recipient], occasion: Occasion, renderer: Renderer
) -> list[Delivery]:
    """The email and inbox deliveries of ``intent``, as the recipient's preferences allow."""
    person = people.get(intent.recipient_id)
    channels = person.channels_for(intent.kind) if person else []
    if intent.channels is not None:
        channels = [channel for channel in channels if channel in intent.channels]
    if person is None or not channels:
        return []
    context = {
        **intent.context,
        "recipient_name": _name(person, "there"),
        "counterpart_name": _name(people.get(intent.counterpart_id or ""), "a colleague"),
    }
    rendered = renderer.render(intent.kind, context)
    now = occasion.recorded_at
    deliveries: list[Delivery] = []
    for channel in channels:
        key = delivery_id(intent.source_id(occasion.event_id), intent.recipient_id, channel)
        email = channel == "email"
        unsendable = email and not person.email
        deliveries.append(
            Delivery(
                id=key,
                event_id=occasion.event_id,
                event_type=occasion.event_type,
                event_time=occasion.event_time,
                created_at=now,
                kind=intent.kind,
                channel=channel,
                recipient_id=intent.recipient_id,
                next_attempt_at=now,
                status=SKIPPED if unsendable else PENDING,
                last_error=NO_EMAIL_ADDRESS if unsendable else None,
                subject=None if unsendable else rendered.subject,
                text=None if unsendable else rendered.text,
                to=person.email if email else None,
                html=rendered.html if email and not unsendable else None,
                read=None if email else False,
                inbox_key=None if email else f"{now:%Y%m%dT%H%M%S.%f}|{key}",
                attachment=intent.attachment if email and not unsendable else None,
            )
        )
    return deliveries


def webhook_deliveries(
    hooks: Sequence[Webhook], data: Mapping[str, Any], occasion: Occasion, renderer: Renderer
) -> list[Delivery]:
    """One delivery per subscribed webhook: a Slack/Teams-style JSON message about the event."""
    if not hooks:
        return []
    text = renderer.webhook_text(occasion.event_type, data)
    body = json.dumps(
        {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]},
        separators=(",", ":"),
    )
    return [
        Delivery(
            id=delivery_id(occasion.event_id, hook.id, "webhook"),
            event_id=occasion.event_id,
            event_type=occasion.event_type,
            event_time=occasion.event_time,
            created_at=occasion.recorded_at,
            kind=occasion.event_type,
            channel="webhook",
            recipient_id=hook.id,
            next_attempt_at=occasion.recorded_at,
            body=body,
        )
        for hook in hooks
    ]
