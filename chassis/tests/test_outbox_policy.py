"""Unit tests of the relay's decision: which outbox entries to publish, delete or keep waiting."""

from datetime import UTC, datetime, timedelta

import pytest
from tandem_chassis.outbox.policy import (
    ORPHAN_AFTER,
    UNFLAGGED_GRACE,
    Pending,
    decide,
    spent_commits,
    unclear_aggregates,
)
from tandem_chassis.outbox.store import entry_id

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
FRESH = NOW - timedelta(seconds=1)
UNFLAGGED = NOW - UNFLAGGED_GRACE - timedelta(seconds=1)
ANCIENT = NOW - ORPHAN_AFTER - timedelta(seconds=1)


def pending(aggregate_id: str, seq: int, created_at: datetime = FRESH) -> Pending:
    return Pending(entry_id(aggregate_id, seq), aggregate_id, seq, created_at)


def ids(*entries: Pending) -> tuple[str, ...]:
    return tuple(entry.entry_id for entry in entries)


def test_entries_named_by_a_commit_record_are_published_in_order() -> None:
    entries = [pending("a", 1), pending("a", 2), pending("b", 1)]

    decision = decide(entries, set(ids(*entries)), {}, NOW)

    assert decision.publish == ids(*entries)
    assert decision.orphans == ()


def test_an_uncommitted_young_entry_holds_back_the_later_entries_of_its_aggregate_only() -> None:
    a1, a2, a3, b1 = pending("a", 1), pending("a", 2), pending("a", 3), pending("b", 1)

    decision = decide([a1, a2, a3, b1], set(ids(a1, a3, b1)), {}, NOW)

    assert decision.publish == ids(a1, b1), "a-3 must not overtake a-2, which may be in flight"
    assert decision.orphans == ()


def test_an_entry_covered_by_its_aggregates_outbox_seq_is_published_without_a_commit_record() -> None:
    a1, a2 = pending("a", 1, UNFLAGGED), pending("a", 2, UNFLAGGED)

    decision = decide([a1, a2], set(), {"a": 1}, NOW)

    assert decision.publish == ids(a1), "the writer crashed after its write, before its commit record"
    assert decision.orphans == ()


def test_an_old_entry_no_landed_write_covers_is_an_orphan_and_does_not_block_its_aggregate() -> None:
    lost, next_write = pending("a", 4, ANCIENT), pending("a", 5)

    decision = decide([lost, next_write], set(ids(next_write)), {"a": 3}, NOW)

    assert decision.orphans == ids(lost)
    assert decision.publish == ids(next_write)


def test_an_entry_of_an_aggregate_that_does_not_exist_waits_then_becomes_an_orphan() -> None:
    waiting = pending("gone", 1, UNFLAGGED)
    old = pending("gone", 1, ANCIENT)

    assert decide([waiting], set(), {"gone": 0}, NOW).publish == ()
    assert decide([waiting], set(), {"gone": 0}, NOW).orphans == ()
    assert decide([old], set(), {"gone": 0}, NOW).orphans == ids(old)


def test_only_aggregates_with_an_unrecorded_entry_past_the_grace_are_read() -> None:
    entries = [pending("young", 1), pending("recorded", 1, UNFLAGGED), pending("unclear", 1, UNFLAGGED)]
    committed = set(ids(entries[1]))

    assert unclear_aggregates(entries, committed, NOW) == {"unclear"}


def test_naive_times_from_the_store_are_read_as_utc() -> None:
    naive = pending("a", 1, ANCIENT.replace(tzinfo=None))

    assert unclear_aggregates([naive], set(), NOW) == {"a"}
    assert decide([naive], set(), {}, NOW).orphans == ids(naive)


def test_a_commit_record_is_spent_once_none_of_its_entries_is_left() -> None:
    a1, a2, b1 = ids(pending("a", 1), pending("a", 2), pending("b", 1))
    commits = {"c-a": [a1, a2], "c-b": [b1]}

    spent = spent_commits(commits, read={a1, a2, b1}, done={a1, b1}, complete=True)

    assert spent == ["c-b"], "a-2 is still waiting, so c-a stays"


def test_when_the_pass_read_only_part_of_the_outbox_unread_entries_keep_their_record() -> None:
    a1, a2 = ids(pending("a", 1), pending("a", 2))
    commits = {"c-a": [a1, a2], "c-old": [entry_id("z", 1)]}

    assert spent_commits(commits, read={a1}, done={a1}, complete=False) == []
    assert spent_commits(commits, read={a1}, done={a1}, complete=True) == ["c-a", "c-old"]
