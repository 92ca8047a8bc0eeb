"""Use cases driven by ``tandem.profiles``."""

from collections.abc import Sequence

from tandem_contracts import CloudEvent, ProfileSnapshot

from tandem_notifications.domain.kinds import intents_for
from tandem_notifications.domain.notices import Notice
from tandem_notifications.service_layer.unit_of_work import UnitOfWork

__all__ = ["profiles_changed"]


async def profiles_changed(
    uow: UnitOfWork, changes: Sequence[tuple[CloudEvent, ProfileSnapshot]]
) -> list[Notice]:
    """Project the profiles (at once: two store commands), then each event's own effects in order:
    forget an erased employee, stop notifying a leaver; what to tell them."""
    await uow.recipients.apply_many(snapshot for _, snapshot in changes)
    return [await _effects(uow, event, snapshot) for event, snapshot in changes]


async def _effects(uow: UnitOfWork, event: CloudEvent, snapshot: ProfileSnapshot) -> Notice:
    if event.type in ("profile.erased", "profile.deactivated"):
        current = await uow.recipients.get(snapshot.employee_id)
        status = current.status if current else None
        now = uow.clock()
        if status == "erased":
            await uow.deliveries.erase(snapshot.employee_id, at=now)
        elif status == "inactive":
            await uow.deliveries.cancel_pending(snapshot.employee_id, at=now)
    return Notice(
        event.id,
        event.type,
        event.time,
        intents_for(event.type, snapshot),
        {"employee_id": snapshot.employee_id},
    )
