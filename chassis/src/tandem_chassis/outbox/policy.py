"""What the relay does with the outbox entries it read: pure decisions, no I/O.

An entry is *committed* when a commit record names it, or when its aggregate's ``outbox_seq``
covers its sequence number (a writer that crashed before recording its commit). Committed
entries are published in order; an entry that is neither committed nor young is the leftover
of a write that never landed (an *orphan*) and is deleted; any other entry may still be in
flight, so it and every later entry of its aggregate wait for the next pass.
"""

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = [
    "ORPHAN_AFTER",
    "UNFLAGGED_GRACE",
    "Decision",
    "Pending",
    "decide",
    "spent_commits",
    "unclear_aggregates",
]

ORPHAN_AFTER = timedelta(minutes=5)
"""An uncommitted entry older than this belongs to a write that never landed."""
UNFLAGGED_GRACE = timedelta(seconds=5)
"""An uncommitted entry younger than this may be a write in flight: its aggregate is not read."""


@dataclass(frozen=True, slots=True)
class Pending:
    """One outbox entry as the relay read it (entries come sorted by aggregate, then sequence)."""

    entry_id: str
    aggregate_id: str
    seq: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Decision:
    """Entry ids to publish now, in order, and entry ids to delete unpublished."""

    publish: tuple[str, ...]
    orphans: tuple[str, ...]


def unclear_aggregates(pending: Sequence[Pending], committed: Set[str], now: datetime) -> set[str]:
    """Aggregates whose ``outbox_seq`` must be read: they have an unrecorded entry past the grace."""
    settled_before = now - UNFLAGGED_GRACE
    return {
        entry.aggregate_id
        for entry in pending
        if entry.entry_id not in committed and _as_utc(entry.created_at) < settled_before
    }


def decide(
    pending: Sequence[Pending], committed: Set[str], outbox_seq: Mapping[str, int], now: datetime
) -> Decision:
    """Sort ``pending`` into entries to publish and orphans to delete (the rest wait).

    ``committed`` are the entry ids named by commit records; ``outbox_seq`` holds the stored
    ``outbox_seq`` of the :func:`unclear_aggregates` (0 for an aggregate that does not exist).
    """
    publish: list[str] = []
    orphans: list[str] = []
    blocked: set[str] = set()
    for entry in pending:
        if entry.aggregate_id in blocked:
            continue  # keep each aggregate's events in order
        if entry.entry_id in committed or entry.seq <= outbox_seq.get(entry.aggregate_id, -1):
            publish.append(entry.entry_id)
        elif _as_utc(entry.created_at) < now - ORPHAN_AFTER:
            orphans.append(entry.entry_id)
        else:
            blocked.add(entry.aggregate_id)
    return Decision(tuple(publish), tuple(orphans))


def spent_commits(
    commits: Mapping[object, Sequence[str]], read: Set[str], done: Set[str], *, complete: bool
) -> list[object]:
    """Commit records (id → entry ids) with none of their entries left to publish.

    ``read`` are the entries this pass read, ``done`` those it published or deleted; with
    ``complete`` the pass read the whole outbox, so an entry it did not read is gone already.
    """
    left = read - done
    return [
        commit_id
        for commit_id, entry_ids in commits.items()
        if all(entry_id not in left and (complete or entry_id in done) for entry_id in entry_ids)
    ]


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
