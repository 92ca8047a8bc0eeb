"""Recording notifications: intents in, one delivery document per (event, recipient, channel).

Recording is all an event handler does; sending is the dispatcher's job, so a slow or failing
channel never holds up the consumer. Redelivered events insert nothing new (unique ``_id``).
A notification for someone whose profile has not been projected yet is held, and recorded
when the profile arrives (:meth:`Recorder.release`).
"""

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tandem_notifications.adapters.deliveries import DeliveryRepository
from tandem_notifications.adapters.held import HeldNotices
from tandem_notifications.adapters.recipients import RecipientProjection
from tandem_notifications.adapters.webhooks import WebhookRepository
from tandem_notifications.domain.delivery import PENDING, delivery_id
from tandem_notifications.domain.kinds import Intent
from tandem_notifications.domain.rendering import Renderer

__all__ = ["Notice", "Recorder"]

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Notice:
    """One event's reason to notify: what to tell whom, and the data for webhooks."""

    event_id: str
    event_type: str
    event_time: datetime | None
    intents: Sequence[Intent]
    webhook_data: Mapping[str, Any] | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _name(person: Document | None, fallback: str) -> str:
    return (person or {}).get("display_name") or fallback


class Recorder:
    def __init__(
        self,
        *,
        recipients: RecipientProjection,
        deliveries: DeliveryRepository,
        webhooks: WebhookRepository,
        held: HeldNotices,
        renderer: Renderer,
        on_recorded: Callable[[set[str]], None] = lambda channels: None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.recipients = recipients
        self.deliveries = deliveries
        self.webhooks = webhooks
        self.held = held
        self.renderer = renderer
        self.on_recorded = on_recorded
        self.clock = clock

    async def record(
        self,
        *,
        event_id: str,
        event_type: str,
        event_time: datetime | None,
        intents: Sequence[Intent],
        webhook_data: Mapping[str, Any] | None = None,
    ) -> int:
        """Store the deliveries this event causes; returns how many were new."""
        return await self.record_many([Notice(event_id, event_type, event_time, intents, webhook_data)])

    async def record_many(self, notices: Sequence["Notice"]) -> int:
        """Store the deliveries of many events at once: one recipient read, one insert.

        The same documents as recording them one by one, so a batch that is redelivered, or
        retried event by event after a failure, inserts nothing twice.
        """
        if not notices:
            return 0
        now = self.clock()
        wanted = [
            person
            for notice in notices
            for intent in notice.intents
            for person in (intent.recipient_id, intent.counterpart_id)
            if person
        ]
        people = await self.recipients.get_many(wanted) if wanted else {}
        hooks: dict[str, list[Document]] = {}
        documents: list[Document] = []
        held: list[Document] = []
        for notice in notices:
            base = {
                "event_id": notice.event_id,
                "event_type": notice.event_type,
                "event_time": notice.event_time or now,
                "created_at": now,
            }
            for intent in notice.intents:
                if intent.recipient_id in people:
                    documents += self._personal(intent, people, base, now)
                else:
                    held.append(_held(intent, base))
            if notice.webhook_data is not None:
                if notice.event_type not in hooks:
                    hooks[notice.event_type] = await self.webhooks.subscribed_to(notice.event_type)
                documents += self._webhooks(
                    hooks[notice.event_type], notice.event_type, notice.webhook_data, base, now
                )
        added = await self._store(documents)
        if held:
            await self.held.hold(held)
            # The profile may have been projected since the read above, and its release may
            # have run before these were held: look again, so nothing waits for a second event.
            added += await self.release({document["recipient_id"] for document in held})
        return added

    async def release(self, recipient_ids: Iterable[str]) -> int:
        """Record what was held for these people if their profiles are known now; how many new."""
        waiting = await self.held.of(recipient_ids)
        if not waiting:
            return 0
        people = await self.recipients.get_many(
            {d["recipient_id"] for d in waiting}
            | {d["counterpart_id"] for d in waiting if d["counterpart_id"]}
        )
        now = self.clock()
        ready = [d for d in waiting if d["recipient_id"] in people]
        documents = [
            delivery
            for d in ready
            for delivery in self._personal(
                Intent(d["kind"], d["recipient_id"], d["context"], d["counterpart_id"], d["variant"]),
                people,
                {k: d[k] for k in ("event_id", "event_type", "event_time")} | {"created_at": now},
                now,
            )
        ]
        added = await self._store(documents)
        await self.held.drop(d["_id"] for d in ready)
        return added

    async def _store(self, documents: list[Document]) -> int:
        """Insert the deliveries and wake the dispatchers of their channels; how many were new."""
        added = await self.deliveries.add(documents)
        if documents:
            self.on_recorded({document["channel"] for document in documents})
        return added

    def _personal(
        self, intent: Intent, people: Mapping[str, Document], base: Document, now: datetime
    ) -> list[Document]:
        person = people.get(intent.recipient_id)
        if person is None or person.get("status") != "active":
            return []  # unknown, left or erased: nothing is sent to them
        channels = self.recipients.preferences_of(person).channels_for(intent.kind)
        if not person.get("email"):
            channels = [channel for channel in channels if channel != "email"]
        if not channels:
            return []
        context = {
            **intent.context,
            "recipient_name": _name(person, "there"),
            "counterpart_name": _name(people.get(intent.counterpart_id or ""), "a colleague"),
        }
        rendered = self.renderer.render(intent.kind, context)
        documents: list[Document] = []
        for channel in channels:
            key = delivery_id(intent.source_id(base["event_id"]), intent.recipient_id, channel)
            document = {
                **base,
                "_id": key,
                "kind": intent.kind,
                "channel": channel,
                "recipient_id": intent.recipient_id,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "subject": rendered.subject,
                "text": rendered.text,
            }
            if channel == "email":
                document |= {"to": person["email"], "html": rendered.html}
            else:
                document |= {"read": False, "inbox_key": f"{now:%Y%m%dT%H%M%S.%f}|{key}"}
            documents.append(document)
        return documents

    def _webhooks(
        self,
        hooks: Sequence[Document],
        event_type: str,
        data: Mapping[str, Any],
        base: Document,
        now: datetime,
    ) -> list[Document]:
        if not hooks:
            return []
        text = self.renderer.webhook_text(event_type, data)
        body = json.dumps(
            {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]},
            separators=(",", ":"),
        )
        return [
            {
                **base,
                "_id": delivery_id(base["event_id"], hook["_id"], "webhook"),
                "kind": event_type,
                "channel": "webhook",
                "recipient_id": hook["_id"],
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "body": body,
            }
            for hook in hooks
        ]


def _held(intent: Intent, base: Document) -> Document:
    """What a notification for someone not projected yet keeps until their profile arrives."""
    return {
        "_id": f"{intent.source_id(base['event_id'])}:{intent.recipient_id}",
        "recipient_id": intent.recipient_id,
        "kind": intent.kind,
        "context": dict(intent.context),
        "counterpart_id": intent.counterpart_id,
        "variant": intent.variant,
        "event_id": base["event_id"],
        "event_type": base["event_type"],
        "event_time": base["event_time"],
    }
