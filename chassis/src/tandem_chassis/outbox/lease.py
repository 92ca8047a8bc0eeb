"""One outbox relay at a time per aggregate collection, across all replicas of a service.

Every replica runs a relay over the same outbox collections. Without a lease, two relays read the
same committed entries and both publish them: every such event went out twice, and the two copies of
an aggregate's events interleaved on its partition. A relay publishes a collection's entries only
while it holds that collection's lease, a document in ``<collection>_relay`` that it takes when free
or expired and renews on a pass that has entries once half of it has run out (a store command per
pass saved while it is fresh); a relay that dies stops renewing, and another takes over once the
lease runs out. Taking over an expired lease is a conditional update, which the store must apply
atomically (MongoDB does; so does the local FerretDB with its atomic-conditional-writes patch).
"""

import uuid
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from tandem_chassis.outbox.store import Document

__all__ = ["RELAY_LEASE", "RelayLease"]


RELAY_LEASE = timedelta(seconds=10)  # a dead relay's entries wait this long; tolerates clock skew
_KEY = "lease"


class RelayLease:
    """The relay lease of one aggregate collection, as seen by one relay (``holder``)."""

    def __init__(
        self,
        collection: AsyncCollection[Document],
        *,
        holder: str | None = None,
        duration: timedelta = RELAY_LEASE,
    ) -> None:
        self.leases = collection.database[f"{collection.name}_relay"]
        self.holder = holder or uuid.uuid4().hex
        self.duration = duration
        self._fresh_until: datetime | None = None  # until then the lease is ours without a renewal

    async def hold(self) -> bool:
        """Take or renew the lease; False while another relay holds it and it has not expired."""
        now = datetime.now(UTC)
        if self._fresh_until is not None and now < self._fresh_until:
            return True
        self._fresh_until = None
        mine = {"holder": self.holder, "until": now + self.duration}
        renewed = await self.leases.update_one(
            {"_id": _KEY, "$or": [{"holder": self.holder}, {"until": {"$lt": now}}]}, {"$set": mine}
        )
        if not renewed.matched_count:
            try:
                await self.leases.insert_one({"_id": _KEY, **mine})
            except DuplicateKeyError:
                return False
        self._fresh_until = now + self.duration / 2
        return True

    async def release(self) -> None:
        """Give the lease up (on shutdown), so that another relay takes over at once."""
        self._fresh_until = None
        await self.leases.delete_one({"_id": _KEY, "holder": self.holder})
