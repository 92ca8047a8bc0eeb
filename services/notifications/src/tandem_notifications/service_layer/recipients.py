"""Use cases driven by ``tandem.profiles``."""

from tandem_contracts import CloudEvent, ProfileSnapshot

from tandem_notifications.domain.kinds import intents_for
from tandem_notifications.domain.notices import Notice
from tandem_notifications.service_layer.unit_of_work import UnitOfWork

__all__ = ["profile_changed"]


async def profile_changed(uow: UnitOfWork, event: CloudEvent, snapshot: ProfileSnapshot) -> Notice:
    """Project the profile; forget an erased employee, stop notifying a leaver; what to tell them."""
    await uow.recipients.apply(snapshot)
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
