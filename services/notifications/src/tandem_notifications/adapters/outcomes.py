"""Outcomes of dispatcher passes (collection ``dispatch_batches``): aggregates with an outbox.

One document per pass records which deliveries were delivered, failed or rescheduled, and
carries their ``notification.delivered`` / ``notification.failed`` events in its outbox: the
fact and its events are one single-document write. Applying it to the deliveries comes after
and is repeated after a crash (``unapplied``), so the two never disagree for long.
"""

from collections.abc import Callable, Sequence
from datetime import datetime

from pymongo import ASCENDING
from tandem_chassis import AggregateStore
from tandem_chassis.outbox import AggregateWrite
from tandem_contracts import EventData

from tandem_notifications.adapters.mongo import Document
from tandem_notifications.domain.outcomes import Attempted, Failed, PassOutcome, Rescheduled

__all__ = ["COLLECTION", "OutcomeLog"]

COLLECTION = "dispatch_batches"


def to_document(outcome: PassOutcome, *, applied: bool = False) -> Document:
    return {
        "channel": outcome.channel,
        "created_at": outcome.created_at,
        "delivered": [{"id": d.id, "attempts": d.attempts} for d in outcome.delivered],
        "failed": [{"id": f.id, "attempts": f.attempts, "error": f.error} for f in outcome.failed],
        "retry": [
            {"ids": r.ids, "at": r.at, "error": r.error, "attempts": r.attempts} for r in outcome.retry
        ],
        "applied": applied,
    }


def from_document(d: Document) -> PassOutcome:
    return PassOutcome(
        id=d["_id"],
        channel=d["channel"],
        created_at=d["created_at"],
        delivered=[Attempted(x["id"], x["attempts"]) for x in d["delivered"]],
        failed=[Failed(x["id"], x["attempts"], x["error"]) for x in d["failed"]],
        retry=[Rescheduled(x["ids"], x["at"], x["error"], x["attempts"]) for x in d["retry"]],
    )


class OutcomeLog:
    """``store`` is the runtime's aggregate store of ``dispatch_batches`` (bound once started)."""

    def __init__(self, store: Callable[[], AggregateStore]) -> None:
        self._store = store

    async def create_indexes(self) -> None:
        store = self._store()
        await store.create_indexes()
        await store.collection.create_index([("applied", ASCENDING)])

    async def record(
        self, outcome: PassOutcome, events: Sequence[EventData], *, applied: bool = False
    ) -> None:
        """Store an outcome and its events; ``applied`` when its deliveries need no update."""
        document = to_document(outcome, applied=applied)
        # write_many stages the outbox entries with one insert_many (create inserts them one by one)
        await self._store().write_many([AggregateWrite(outcome.id, None, document, events)])

    async def unapplied(self) -> list[PassOutcome]:
        found = await self._store().collection.find({"applied": False}).to_list()
        return [from_document(document) for document in found]

    async def applied(self, outcome_id: str, *, at: datetime) -> None:
        await self._store().collection.update_one(
            {"_id": outcome_id}, {"$set": {"applied": True, "applied_at": at}}
        )
