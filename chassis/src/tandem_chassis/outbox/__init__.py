"""Reliable publishing without multi-document transactions: an outbox per aggregate collection.

- :mod:`~tandem_chassis.outbox.store` — :class:`AggregateStore` writes an aggregate and the
  events it causes: it stages them as entries in ``<collection>_outbox`` keyed by (aggregate id,
  sequence number), updates the aggregate in one single-document write guarded by its
  ``version`` that also advances its ``outbox_seq``, and, when that write landed, inserts a
  *commit record* into ``<collection>_outbox_commits`` naming the entries it committed.
- :mod:`~tandem_chassis.outbox.policy` — the relay's pure decision: an entry named by a commit
  record, or covered by its aggregate's ``outbox_seq`` (a writer that crashed before recording
  its commit), is published in order; an uncommitted entry older than five minutes is the
  leftover of a write that never landed and is deleted; any other one waits, with the later
  entries of its aggregate.
- :mod:`~tandem_chassis.outbox.relay` — :class:`OutboxRelay` publishes with ``acks=all`` and an
  idempotent producer, then deletes the entries and the spent commit records. A crash between
  publishing and deleting re-publishes, never loses: consumers drop what they have seen (event
  id, version).

A writer never overwrites another writer's entry that may be in flight or committed, and a write
that lost its race withdraws its entries: with several replicas writing one aggregate, the loser
used to replace the winner's entry (its event went out for the winner's write) or re-stage an
entry the relay had already published (a phantom event). One relay per collection at a time
(:mod:`~tandem_chassis.outbox.lease`). The relay never writes to aggregate documents.
"""

from tandem_chassis.outbox.relay import OutboxRelay
from tandem_chassis.outbox.store import (
    AggregateStore,
    AggregateWrite,
    Upsert,
    outbox_of,
    stored_versions,
    upsert_if_newer,
    upsert_many_if_newer,
    write_newer,
)

__all__ = [
    "AggregateStore",
    "AggregateWrite",
    "OutboxRelay",
    "Upsert",
    "outbox_of",
    "stored_versions",
    "upsert_if_newer",
    "upsert_many_if_newer",
    "write_newer",
]
