"""The mentor pool starts from its stored snapshot and keeps that snapshot current and private."""

import pytest
from tandem_contracts import ProfileErased
from tandem_matching.service_layer.pool import MentorPool

from .conftest import FakeMentorLoads, FakePoolSnapshots, FakeProfiles

pytestmark = pytest.mark.unit


async def _started(profiles: FakeProfiles, snapshots: FakePoolSnapshots, *, changes: int = 3) -> MentorPool:
    pool = MentorPool(
        projection=profiles,
        loads=FakeMentorLoads(),
        refresh_interval_s=1.0,
        snapshots=snapshots,
        snapshot_changes=changes,
        snapshot_interval_s=0,
    )
    await pool.start()
    return pool


async def _stored(profiles: FakeProfiles, profile, count: int) -> None:
    for i in range(count):
        await profiles.apply(profile.mentor(f"m{i}") if i % 2 else profile.mentee(f"e{i}"))


async def test_a_start_reads_the_snapshot_and_only_the_changes_after_it(profile):
    profiles, snapshots = FakeProfiles(), FakePoolSnapshots()
    await _stored(profiles, profile, 6)
    first = await _started(profiles, snapshots)
    assert first.started_from is None and profiles.reads == [0], "nothing stored: the whole projection"
    await first.poll()
    assert snapshots.stored is not None and snapshots.stored.seq == 6

    await profiles.apply(profile.mentor("m1", version=2, mentor_capacity=5))
    await profiles.apply(profile.mentor("late"))
    profiles.reads.clear()
    second = await _started(profiles, snapshots)
    assert second.started_from == 6
    assert profiles.reads == [0], "within the overlap behind 6, so from 0 here"
    assert second.people == {
        **first.people,
        **{e: p for e, p in second.people.items() if e in {"m1", "late"}},
    }
    assert second.person("m1").mentor_capacity == 5 and second.person("late") is not None
    assert second.versions == {e.employee_id: e.version for e in profiles.entries.values()}
    assert set(second._index.position) == {"m1", "m3", "m5", "late"}


async def test_a_start_far_behind_the_overlap_reads_only_the_changes(profile):
    profiles, snapshots = FakeProfiles(), FakePoolSnapshots()
    await _stored(profiles, profile, 100)
    first = await _started(profiles, snapshots)
    await first.poll()
    await profiles.apply(profile.mentor("late"))
    profiles.reads.clear()
    second = await _started(profiles, snapshots)
    assert profiles.reads == [100 - 64], "the snapshot's number less the overlap, not 0"
    assert second.people == {**first.people, "late": second.person("late")}


async def test_a_snapshot_is_stored_once_enough_changed_and_not_again_when_another_replica_did(profile):
    profiles, snapshots = FakeProfiles(), FakePoolSnapshots()
    await _stored(profiles, profile, 2)
    pool = await _started(profiles, snapshots)
    await pool.poll()
    assert snapshots.saves == 0, "two writes are fewer than the three a snapshot waits for"
    await profiles.apply(profile.mentor("m9"))
    await pool.poll()
    assert (snapshots.saves, snapshots.stored.seq) == (1, 3)

    other = await _started(profiles, snapshots)
    for i in range(3):
        await profiles.apply(profile.mentor(f"n{i}"))
    await other.poll()
    assert (snapshots.saves, snapshots.stored.seq) == (2, 6)
    await pool.poll()
    assert snapshots.saves == 2, "the other replica's snapshot covers what this one would store"


async def test_an_erasure_soon_leaves_no_trace_in_the_stored_snapshot(profile):
    profiles, snapshots = FakeProfiles(), FakePoolSnapshots()
    await _stored(profiles, profile, 4)
    pool = await _started(profiles, snapshots, changes=1_000)
    await pool.poll()
    assert snapshots.saves == 0
    await profiles.apply(ProfileErased(employee_id="m1", version=2, status="erased"))
    await pool.poll()
    assert snapshots.saves == 1, "an erasure is due at once, however few the changes"
    stored = snapshots.stored
    assert "m1" not in {p.employee_id for p in stored.people}
    assert stored.versions["m1"] == 2, "an id and a version, nothing personal"
    await pool.poll()
    assert snapshots.saves == 1, "and only once"
