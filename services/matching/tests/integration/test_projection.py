"""The profile projection keeps the newest snapshot, obeys leavers, and replays identically."""

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
