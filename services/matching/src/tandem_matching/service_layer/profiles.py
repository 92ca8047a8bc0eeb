"""Use cases driven by ``tandem.profiles``."""

from tandem_contracts import ProfileSnapshot
from tandem_matching.adapters.profiles_projection import ProfileProjection

__all__ = ["record_profile"]


async def record_profile(snapshot: ProfileSnapshot, *, projection: ProfileProjection) -> bool:
    """Keep the projection at the newest version; stale and repeated snapshots change nothing."""
    return await projection.apply(snapshot)
