"""The profile projection keeps the newest snapshot, obeys leavers, and replays identically."""

from typing import Any

import pytest
from tandem_contracts import ProfileUpdated

pytestmark = pytest.mark.integration


def _comparable(documents: list[dict]) -> dict[str, dict]:
    return {d["_id"]: {k: v for k, v in d.items() if k != "seq"} for d in documents}


async def test_projection_drops_stale_versions_obeys_leavers_and_a_replay_rebuilds_it_identically(
    matching, matching_settings, make
):
    ada = make.mentor("ada", 1, bio="loves compilers")
    newest = ProfileUpdated.model_validate(
        ada.model_dump() | {"version": 3, "level": 6, "mentor_capacity": 3}
    )
    stale = ProfileUpdated.model_validate(ada.model_dump() | {"version": 2, "level": 4})
    bob = make.mentor("bob", 1)
    cyd = make.mentee("cyd", 1, bio="personal words")
    await matching.feed(ada, newest, stale, newest, bob, make.deactivated(bob, 2), cyd, make.erased("cyd", 2))
    await matching.projected({"ada": 3, "bob": 2, "cyd": 2})

    profiles = matching.db("profiles")
    stored = await profiles.find_one({"_id": "ada"})
    assert (stored["version"], stored["level"], stored["mentor_capacity"]) == (3, 6, 3), (
        "the stale v2 is dropped"
    )
    assert (await profiles.find_one({"_id": "bob"}))["status"] == "inactive"
    forgotten = await profiles.find_one({"_id": "cyd"})
    assert forgotten["status"] == "erased"
    assert forgotten["email"] is None
    assert forgotten["display_name"] is None
    assert forgotten["bio"] is None
    assert forgotten["goals"] == []
    assert forgotten["department"] is None

    suggestions = await matching.client.get("/v1/mentees/dee/suggestions", headers=matching.admin())
    assert suggestions.status_code == 404, "an unknown mentee has no suggestions"
    await matching.feed(make.mentee("dee", 1))
    await matching.projected({"dee": 1})
    suggestions = await matching.client.get("/v1/mentees/dee/suggestions", headers=matching.auth("dee"))
    assert [s["mentor_id"] for s in suggestions.json()["suggestions"]] == ["ada"], "bob left"

    original = _comparable(await profiles.find({}).to_list())
    group = matching.settings.kafka_group_prefix + "replay."
    database = matching.settings.database_name + "_replay"
    async with make.running(matching_settings(kafka_group_prefix=group, mongodb_database=database)) as replay:
        await replay.projected({"ada": 3, "bob": 2, "cyd": 2, "dee": 1})
        rebuilt = _comparable(await replay.db("profiles").find({}).to_list())
    assert rebuilt == original


async def test_a_batch_stores_the_newest_snapshot_per_employee_and_never_goes_back(
    mongo_client, isolated_settings, make
):
    from tandem_matching.adapters.profiles_projection import ProfileProjection

    database = mongo_client[f"tandem_matching_batch_{isolated_settings['TANDEM_DB_SUFFIX']}"]
    projection = ProfileProjection(database["profiles"], database["counters"])
    ada, bob = make.mentor("ada", 1), make.mentor("bob", 1)
    ada3 = ProfileUpdated.model_validate(ada.model_dump() | {"version": 3, "level": 7})
    bob2 = ProfileUpdated.model_validate(bob.model_dump() | {"version": 2, "level": 2})
    upserted: list[int] = []
    original_bulk_write = projection.collection.bulk_write

    async def recording_bulk_write(requests: list[Any], *args: Any, **kwargs: Any) -> Any:
        upserted.append(len(requests))
        return await original_bulk_write(requests, *args, **kwargs)

    projection.collection.bulk_write = recording_bulk_write  # type: ignore[method-assign]
    try:
        assert await projection.apply_many([ada, ada3, bob, ada]) == 2, "ada v3 and bob v1"
        assert upserted == [], "new employees are inserted, not upserted"
        assert await projection.apply(bob2), "bob moved on to v2 outside the batch"
        # Stale (bob v1, ada v1) and repeated (ada v3) snapshots change nothing; new ones land.
        cyd = make.mentee("cyd", 1)
        assert await projection.apply_many([bob, ada, ada3, cyd]) == 1, "only cyd"
        bob3 = ProfileUpdated.model_validate(bob.model_dump() | {"version": 3, "level": 9})
        assert await projection.apply_many([bob3, make.mentee("dee", 1)]) == 2, "bob v3 and dee"
        assert upserted == [1], "only bob, who was stored, takes a version-guarded upsert"
        stored = {d["_id"]: (d["version"], d["level"]) async for d in database["profiles"].find({})}
        assert stored == {"ada": (3, 7), "bob": (3, 9), "cyd": (1, cyd.level), "dee": (1, stored["dee"][1])}
        seqs = [d["seq"] async for d in database["profiles"].find({})]
        assert len(set(seqs)) == 4, "every stored snapshot has its own sequence number"
    finally:
        await mongo_client.drop_database(database.name)


async def test_changes_since_a_number_are_found_by_their_notes_not_by_scanning(
    mongo_client, isolated_settings, make
):
    from tandem_matching.adapters.profiles_projection import ProfileProjection

    database = mongo_client[f"tandem_matching_changes_{isolated_settings['TANDEM_DB_SUFFIX']}"]
    projection = ProfileProjection(database["profiles"], database["counters"])
    commands: list[dict[str, Any]] = []
    try:
        await projection.apply_many([make.mentor(f"m{n}", 1) for n in range(50)])
        seen = await projection.last_seq()
        assert {e.employee_id for e in await projection.changed_since(0)} == {f"m{n}" for n in range(50)}
        assert await projection.changed_since(seen) == []
        await projection.apply_many([make.mentor("m3", 2), make.mentor("new", 1)])
        await projection.apply(make.mentor("m7", 2))

        original_find = database["profiles"].find

        def recording_find(query: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            commands.append(query)
            return original_find(query, *args, **kwargs)

        original_notes_find = projection.changes.find
        note_queries: list[dict[str, Any]] = []

        def recording_notes_find(query: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            note_queries.append(query)
            return original_notes_find(query, *args, **kwargs)

        projection.collection.find = recording_find  # type: ignore[method-assign]
        projection.changes.find = recording_notes_find  # type: ignore[method-assign]
        changed = await projection.changed_since(seen)
        assert len(note_queries) == 1
        assert all(isinstance(key, str) for key in note_queries[0]["_id"]["$in"]), (
            "notes are looked up by string keys: the local store scans for an $in of numbers"
        )
        assert sorted((e.employee_id, e.version) for e in changed) == [("m3", 2), ("m7", 2), ("new", 1)]
        assert len(commands) == 1 and set(commands[0]) == {"_id"}, "by id, never a scan of the projection"
        assert sorted(commands[0]["_id"]["$in"]) == ["m3", "m7", "new"]
    finally:
        await mongo_client.drop_database(database.name)


async def test_change_notes_keyed_by_number_before_an_upgrade_are_rekeyed_at_start(
    mongo_client, isolated_settings, make
):
    from tandem_matching.adapters.profiles_projection import ProfileProjection

    database = mongo_client[f"tandem_matching_rekey_{isolated_settings['TANDEM_DB_SUFFIX']}"]
    projection = ProfileProjection(database["profiles"], database["counters"])
    try:
        await projection.apply_many([make.mentor(f"m{n}", 1) for n in range(5)])
        # as the earlier release wrote them: the sequence number itself as _id
        notes = await database["profiles_changes"].find({}).to_list()
        await database["profiles_changes"].delete_many({})
        await database["profiles_changes"].insert_many(
            [{"_id": int(note["_id"]), "employee_id": note["employee_id"]} for note in notes]
        )
        await projection.create_indexes()
        keys = sorted([note["_id"] async for note in database["profiles_changes"].find({})])
        assert keys == ["1", "2", "3", "4", "5"]
        assert {e.employee_id for e in await projection.changed_since(2)} == {"m2", "m3", "m4"}
        await projection.create_indexes()  # again: nothing left to rekey, nothing lost
        assert await database["profiles_changes"].count_documents({}) == 5
    finally:
        await mongo_client.drop_database(database.name)
