"""The mentor pool in memory: people from the projection, a cached `MentorIndex`, seat loads.

Suggestions never read Mongo to score: the index is built from the projection once, and
rebuilt (off the event loop) only when a change touches a mentor or a reporting line. Changes
are found by the projection's ``seq`` counter: a background poller reads the counter every
``refresh_interval_s`` (one lookup by id) and fetches the changed snapshots only when it
moved or at the slow full resync; what this process wrote (``mark_dirty``) is fetched before
the next reader goes on. Readers never wait for the poller's I/O otherwise.

A start reads the stored pool snapshot and then only the changes after it; the poller stores a
new snapshot once enough has changed (and soon after an erasure, so the snapshot keeps nothing
of an erased employee), at most every ``snapshot_interval_s``.
"""

import asyncio
import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tandem_matching.domain.index import MentorIndex
from tandem_matching.domain.mentorship import Seats
from tandem_matching.domain.model import Person, PoolSnapshot, ProfileEntry
from tandem_matching.service_layer.unit_of_work import MentorLoads, PoolSnapshots, Profiles

__all__ = ["MentorPool", "PoolView"]

# Re-read this many counter values behind the newest seen: another replica may commit a lower
# seq after a higher one became visible.
_SEQ_OVERLAP = 64
_LOAD_RELOAD_FACTOR = 5
# A write whose counter value was drawn before our last look but committed after it is
# caught by this periodic catch-up (in refresh intervals).
_RESYNC_FACTOR = 60
SNAPSHOT_CHANGES = 1_000  # store a new pool snapshot once this many projection writes are past it
SNAPSHOT_INTERVAL_S = 30.0


def _indexed(person: Person | None) -> bool:
    return person is not None and person.active and "mentor" in person.roles


@dataclass(frozen=True)
class PoolView:
    """The index with current free capacities, and pending proposals per mentor position."""

    index: MentorIndex
    demand: NDArray[np.int64]


class MentorPool:
    def __init__(
        self,
        *,
        projection: Profiles,
        loads: MentorLoads,
        refresh_interval_s: float,
        snapshots: PoolSnapshots | None = None,
        snapshot_changes: int = SNAPSHOT_CHANGES,
        snapshot_interval_s: float = SNAPSHOT_INTERVAL_S,
    ) -> None:
        self.projection = projection
        self.loads = loads
        self.refresh_interval_s = refresh_interval_s
        self.snapshots = snapshots
        self.snapshot_changes = snapshot_changes
        self.snapshot_interval_s = snapshot_interval_s
        self.people: dict[str, Person] = {}
        self.managers: dict[str, str | None] = {}
        self.versions: dict[str, int] = {}
        self._seq = 0
        self._dirty = True
        self._fetched_at = float("-inf")
        self._counter_seen = -1
        self._loads_at = float("-inf")
        self._load: dict[str, Seats] = {}
        self._lock = asyncio.Lock()
        self._index = MentorIndex([])
        self._index_stale = True
        self._capacity = np.zeros(0, dtype=np.int64)
        self._active = np.zeros(0, dtype=np.int64)
        self._pending = np.zeros(0, dtype=np.int64)
        self._started = False
        self.started_from: int | None = None  # the projection number of the snapshot it started from
        self._snapshot_seq = 0  # the projection number the newest known stored snapshot covers
        self._snapshot_at = float("-inf")
        self._erased_seq: int | None = None  # the newest erasure applied after the stored snapshot

    def mark_dirty(self) -> None:
        """This process changed the projection: the next reader polls it at once."""
        self._dirty = True

    def person(self, employee_id: str) -> Person | None:
        return self.people.get(employee_id)

    def note_load(self, mentor_id: str, seats: Seats) -> None:
        """A load this process just wrote (the periodic reload catches other replicas')."""
        self._load[mentor_id] = seats
        pos = self._index.position.get(mentor_id)
        if pos is not None and not self._index_stale:
            self._active[pos], self._pending[pos] = seats.active, seats.pending

    async def refresh(self) -> None:
        """Catch up at once with what this process wrote (a no-op most of the time)."""
        if self._dirty:
            await self._sync()

    async def poll(self) -> None:
        """Catch up with other replicas' writes (the background poller, every interval), and
        store a new snapshot when one is due."""
        await self._sync(polling=True)
        await self._store_snapshot_if_due()

    async def start(self) -> None:
        """Fill the pool and build the index (before the first request): the stored snapshot,
        then what changed after it."""
        await self._sync(polling=True)

    async def _load_snapshot(self) -> None:
        """The stored snapshot, if any: the catch-up after it then reads only what changed."""
        self._started = True
        snapshot = await self.snapshots.load() if self.snapshots else None
        if snapshot is None:
            return
        self.versions = dict(snapshot.versions)
        self.people = {p.employee_id: p for p in snapshot.people}
        self.managers = {p.employee_id: p.manager_id for p in snapshot.people}
        self._seq = self._snapshot_seq = self.started_from = snapshot.seq
        self._snapshot_at = time.monotonic()
        self._index_stale = True

    async def _store_snapshot_if_due(self) -> None:
        if self.snapshots is None or not self._started:
            return
        due = self._erased_seq if self._erased_seq is not None else self._snapshot_seq + self.snapshot_changes
        if self._seq < due or time.monotonic() - self._snapshot_at < self.snapshot_interval_s:
            return
        stored = await self.snapshots.stored_seq()
        if stored is None or stored < due:  # another replica may have stored it already
            # taken at once (no await between): the people and the number they are as of
            snapshot = PoolSnapshot(
                seq=self._seq, versions=dict(self.versions), people=tuple(self.people.values())
            )
            await self.snapshots.save(snapshot)
            stored = snapshot.seq
        self._snapshot_seq, self._snapshot_at = stored, time.monotonic()
        if self._erased_seq is not None and stored >= self._erased_seq:
            self._erased_seq = None

    async def _sync(self, *, polling: bool = False) -> None:
        async with self._lock:  # also waits for a sync already under way
            if not (polling or self._dirty):
                return
            if not self._started:
                await self._load_snapshot()
            now = time.monotonic()
            dirty, self._dirty = self._dirty, False
            counter = await self.projection.last_seq()
            resync = now - self._fetched_at >= self.refresh_interval_s * _RESYNC_FACTOR
            if dirty or resync or counter != self._counter_seen:
                changed = await self.projection.changed_since(max(0, self._seq - _SEQ_OVERLAP))
                for entry in changed:
                    self._apply(entry)
                self._counter_seen = counter
                self._fetched_at = now
            if now - self._loads_at >= self.refresh_interval_s * _LOAD_RELOAD_FACTOR:
                self._load = await self.loads.all()
                self._loads_at = now
                self._place_loads()
            if self._index_stale:
                await self._rebuild()

    def _apply(self, entry: ProfileEntry) -> None:
        self._seq = max(self._seq, entry.seq)
        employee_id = entry.employee_id
        self.versions[employee_id] = entry.version
        before = self.people.get(employee_id)
        after = entry.person
        if before == after:
            return
        if after is None:
            if before is not None:  # the stored snapshot may still hold them
                self._erased_seq = max(self._erased_seq or 0, entry.seq)
            self.people.pop(employee_id, None)
            self.managers.pop(employee_id, None)
        else:
            self.people[employee_id] = after
            self.managers[employee_id] = after.manager_id
        line_changed = (before.manager_id if before else None) != (after.manager_id if after else None)
        if _indexed(before) or _indexed(after) or line_changed:
            self._index_stale = True

    async def _rebuild(self) -> None:
        mentors = sorted((p for p in self.people.values() if _indexed(p)), key=lambda p: p.employee_id)
        managers = dict(self.managers)
        self._index = await asyncio.to_thread(MentorIndex, mentors, managers=managers)
        self._capacity = np.array([p.mentor_capacity for p in mentors], dtype=np.int64)
        self._index_stale = False
        self._place_loads()

    def _place_loads(self) -> None:
        n = self._index.size
        self._active = np.zeros(n, dtype=np.int64)
        self._pending = np.zeros(n, dtype=np.int64)
        for mentor_id, seats in self._load.items():
            pos = self._index.position.get(mentor_id)
            if pos is not None:
                self._active[pos], self._pending[pos] = seats.active, seats.pending

    async def view(self) -> PoolView:
        """The current index, its free capacities set from the known loads."""
        await self.refresh()
        index = self._index
        # The index is built once from capacities; seats taken since are applied here.
        index.free_capacity = np.maximum(self._capacity - self._active, 0)
        return PoolView(index=index, demand=self._pending.copy())
