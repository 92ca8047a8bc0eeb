"""The stored pool snapshot on the real store: a restart starts from it, and it forgets the erased."""

from typing import Any

import pytest
from tandem_contracts import ProfileRegistered
from tandem_matching.adapters import pool_snapshots
from tandem_matching.adapters.pool_snapshots import MongoPoolSnapshots
from tandem_matching.domain.model import PoolSnapshot

pytestmark = pytest.mark.integration


def _profile(i: int, **fields: Any) -> ProfileRegistered:
    """p1, p3, ... mentor; p0, p2, ... are mentees; everyone but p0 reports to p0."""
    role = "mentor" if i % 2 else "mentee"
    values = {
        "department": f"d{i % 2}",
        "level": 3 + i % 3,
        "timezone": "Europe/Berlin",
        "languages": ["en"],
        "roles": [role],
        "skills": [{"name": "Python", "level": 4}, {"name": "go", "level": 2}] if role == "mentor" else [],
        "goals": [{"name": "python", "level": 3}] if role == "mentee" else [],
        "interests": ["chess", "Running"],
        "mentor_capacity": 2 if role == "mentor" else 0,
        "manager_id": "p0" if i else None,
    }
    return ProfileRegistered(employee_id=f"p{i}", version=1, status="active", **(values | fields))


async def test_a_snapshot_in_several_parts_reads_back_equal_and_replacing_it_leaves_no_old_part(
    matching, monkeypatch
):
    await matching.feed(*(_profile(i) for i in range(5)), _profile(5, languages=["en", "de"]))
    await matching.projected({f"p{i}": 1 for i in range(6)})
    pool = matching.uow.pool
    collection = matching.db("pool_snapshot_roundtrip")
    store = MongoPoolSnapshots(collection)
    monkeypatch.setattr(pool_snapshots, "_PART_SIZE", 2)
    assert await store.load() is None and await store.stored_seq() is None

    people = tuple(pool.people.values())
    first = PoolSnapshot(seq=7, versions=dict(pool.versions) | {"gone": 3}, people=people)
    await store.save(first)
    assert await store.load() == first
    assert await collection.count_documents({}) == 1 + 4, "the header and 7 employees in parts of 2"

    second = PoolSnapshot(seq=9, versions={p.employee_id: 1 for p in people[:3]}, people=people[:3])
    await store.save(second)
    assert await store.load() == second and await store.stored_seq() == 9
    assert await collection.count_documents({}) == 1 + 2, "the first snapshot's parts are deleted"

    await collection.delete_one({"_id": {"$ne": "pool"}})
    assert await store.load() is None, "a part gone under the reader: no snapshot, not half a one"


async def test_a_restart_starts_from_the_snapshot_and_an_erasure_leaves_no_trace_in_it(
    matching_settings, make
):
    settings = matching_settings(pool_snapshot_changes=4, pool_snapshot_interval_s=0)
    async with make.running(settings) as first:
        await first.feed(*(_profile(i) for i in range(8)))
        await first.projected({f"p{i}": 1 for i in range(8)})
        await first.uow.pool.poll()
        stored = await MongoPoolSnapshots(first.db("pool_snapshot")).load()
        assert stored is not None and {p.employee_id for p in stored.people} == {f"p{i}" for i in range(8)}
        before = (await first.client.get("/v1/mentees/p2/suggestions", headers=first.auth("p2"))).json()
        assert "p3" in {s["mentor_id"] for s in before["suggestions"]}

        await first.feed(make.erased("p3", 2))
        await first.projected({"p3": 2})

        async def forgotten() -> bool:
            await first.uow.pool.poll()
            snapshot = await MongoPoolSnapshots(first.db("pool_snapshot")).load()
            return snapshot is not None and "p3" not in {p.employee_id for p in snapshot.people}

        await make.eventually(forgotten, "a snapshot without the erased employee")
        snapshot = await MongoPoolSnapshots(first.db("pool_snapshot")).load()
        assert snapshot.versions["p3"] == 2
        expected = dict(first.uow.pool.people)

    group = settings.kafka_group_prefix + "restart."
    async with make.running(matching_settings(kafka_group_prefix=group)) as second:
        pool = second.uow.pool
        assert pool.started_from == snapshot.seq
        assert pool.people == expected
        after = (await second.client.get("/v1/mentees/p2/suggestions", headers=second.auth("p2"))).json()
    mentors = [s["mentor_id"] for s in before["suggestions"]]
    assert [s["mentor_id"] for s in after["suggestions"]] == [m for m in mentors if m != "p3"]
