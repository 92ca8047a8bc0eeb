"""Use cases driven by ``tandem.profiles``."""

from datetime import UTC, datetime

from tandem_contracts import ProfileSnapshot

from tandem_notifications.adapters.deliveries import DeliveryRepository
from tandem_notifications.adapters.recipients import RecipientProjection
from tandem_notifications.domain.kinds import intents_for
from tandem_notifications.service_layer.notify import Notice, Recorder

__all__ = ["on_profile_changed", "profile_changed", "record_recipient"]


async def record_recipient(snapshot: ProfileSnapshot, *, projection: RecipientProjection) -> bool:
    """Keep the projection at the newest version; stale and repeated snapshots change nothing."""
    return await projection.apply(snapshot)


async def profile_changed(
    snapshot: ProfileSnapshot,
    *,
    event_id: str,
    event_type: str,
    event_time: datetime | None,
    projection: RecipientProjection,
    deliveries: DeliveryRepository,
) -> Notice:
    """Project the profile; forget an erased employee, stop notifying a leaver; what to tell them."""
    await projection.apply(snapshot)
    if event_type in ("profile.erased", "profile.deactivated"):
        current = await projection.get(snapshot.employee_id)
        status = (current or {}).get("status")
        now = datetime.now(UTC)
        if status == "erased":
            await deliveries.erase(snapshot.employee_id, at=now)
        elif status == "inactive":
            await deliveries.cancel_pending(snapshot.employee_id, at=now)
    return Notice(
        event_id,
        event_type,
        event_time,
        intents_for(event_type, snapshot),
        {"employee_id": snapshot.employee_id},
    )


async def on_profile_changed(
    snapshot: ProfileSnapshot,
    *,
    event_id: str,
    event_type: str,
    event_time: datetime | None,
    projection: RecipientProjection,
    deliveries: DeliveryRepository,
    recorder: Recorder,
) -> None:
    """Project the profile; forget an erased employee, stop notifying a leaver, welcome a newcomer."""
    notice = await profile_changed(
        snapshot,
        event_id=event_id,
        event_type=event_type,
        event_time=event_time,
        projection=projection,
        deliveries=deliveries,
    )
    await recorder.record_many([notice])
