"""Use cases driven by ``tandem.profiles``."""

from tandem_contracts import ProfileSnapshot
from tandem_notifications.adapters.recipients import RecipientProjection

__all__ = ["record_recipient"]


async def record_recipient(snapshot: ProfileSnapshot, *, projection: RecipientProjection) -> bool:
    """Keep the projection at the newest version; stale and repeated snapshots change nothing."""
    return await projection.apply(snapshot)
