"""Recording notifications: notices in, one delivery per (event, recipient, channel).

Recording is all an event handler does; sending is the dispatcher's job, so a slow or failing
channel never holds up the consumer. Redelivered events insert nothing new (deterministic ids).
A notification for someone whose profile has not been projected yet is held, and recorded
when the profile arrives (:func:`release_held`).
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace

from tandem_notifications.domain.delivery import DELIVERED, PENDING, Delivery
from tandem_notifications.domain.notices import (
    HeldNotice,
    Notice,
    Occasion,
    personal_deliveries,
    webhook_deliveries,
)
from tandem_notifications.domain.outcomes import outcome_of
from tandem_notifications.domain.webhook import Webhook
from tandem_notifications.service_layer.unit_of_work import UnitOfWork

__all__ = ["record_notices", "release_held"]


async def record_notices(uow: UnitOfWork, notices: Sequence[Notice]) -> int:
    """Store the deliveries of many events at once: one recipient read, one insert; how many new.

    The same deliveries as recording them one by one, so a batch that is redelivered, or
    retried event by event after a failure, inserts nothing twice.
    """
    if not notices:
        return 0
    now = uow.clock()
    wanted = [
        person
        for notice in notices
        for intent in notice.intents
        for person in (intent.recipient_id, intent.counterpart_id)
        if person
    ]
    people = await uow.recipients.get_many(wanted) if wanted else {}
    hooks: dict[str, list[Webhook]] = {}
    deliveries: list[Delivery] = []
    held: list[HeldNotice] = []
    for notice in notices:
        occasion = Occasion(notice.event_id, notice.event_type, notice.event_time or now, now)
        for intent in notice.intents:
            if intent.recipient_id in people:
                deliveries += personal_deliveries(intent, people, occasion, uow.renderer)
            else:
                held.append(HeldNotice.of(intent, occasion))
        if notice.webhook_data is not None:
            if notice.event_type not in hooks:
                hooks[notice.event_type] = await uow.webhooks.subscribed_to(notice.event_type)
            deliveries += webhook_deliveries(
                hooks[notice.event_type], notice.webhook_data, occasion, uow.renderer
            )
    added = await _store(uow, deliveries)
    if held:
        await uow.held.hold(held)
        # The profile may have been projected since the read above, and its release may
        # have run before these were held: look again, so nothing waits for a second event.
        added += await release_held(uow, {notice.recipient_id for notice in held})
    return added


async def release_held(uow: UnitOfWork, recipient_ids: Iterable[str]) -> int:
    """Record what was held for these people if their profiles are known now; how many new.

    A notice for someone who turns out to have left is dropped without a delivery.
    """
    waiting = await uow.held.of(recipient_ids)
    if not waiting:
        return 0
    people = await uow.recipients.get_many(
        {held.recipient_id for held in waiting}
        | {held.intent.counterpart_id for held in waiting if held.intent.counterpart_id}
    )
    now = uow.clock()
    ready = [held for held in waiting if held.recipient_id in people]
    deliveries = [
        delivery
        for held in ready
        for delivery in personal_deliveries(held.intent, people, held.occasion(now), uow.renderer)
    ]
    added = await _store(uow, deliveries)
    await uow.held.drop(held.id for held in ready)
    return added


async def _store(uow: UnitOfWork, deliveries: list[Delivery]) -> int:
    """Insert the deliveries and hint them to the dispatchers of their channels; how many were new.

    In-app notifications are delivered by being stored: they are stored delivered, with their
    ``notification.delivered`` events, instead of waiting for a dispatcher pass.
    """
    inapp = [d for d in deliveries if d.channel == "inapp" and d.status == PENDING]
    if inapp:
        others = [d for d in deliveries if d.channel != "inapp" or d.status != PENDING]
        deliveries = others + await _delivered_by_storing(uow, inapp)
    added = await uow.deliveries.add(deliveries)
    uow.signals.hint(d for d in deliveries if d.status == PENDING)
    return added


async def _delivered_by_storing(uow: UnitOfWork, inapp: list[Delivery]) -> list[Delivery]:
    """The in-app deliveries to insert: the new ones delivered, once their events are recorded.

    The events are recorded before the deliveries, so a crash between the two loses no event: the
    redelivered source event records them again (at least once, as a resent email would be).
    Deliveries recorded already are left as they are (a pending one is sent by the dispatcher).
    """
    known = await uow.deliveries.existing([d.id for d in inapp])
    delivered = [replace(d, status=DELIVERED, attempts=1) for d in inapp if d.id not in known]
    if delivered:
        outcome, events = outcome_of(
            f"inapp:stored:{uuid.uuid4().hex}",
            "inapp",
            [(delivery, None) for delivery in delivered],
            policy=uow.retry_policy,
            now=uow.clock(),
        )
        await uow.outcomes.record(outcome, events, applied=True)
    return delivered + [d for d in inapp if d.id in known]
