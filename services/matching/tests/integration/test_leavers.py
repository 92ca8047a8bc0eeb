"""Leavers: their mentorships end, mentees of a leaving mentor get a new proposal."""

import pytest
from tandem_contracts import topics

pytestmark = pytest.mark.integration


async def test_when_a_mentor_leaves_their_mentorships_end_and_each_mentee_is_reproposed(matching, make):
    leaver = make.mentor("m1", skills=[{"name": "python", "level": 5}])
    await matching.feed(
        leaver,
        make.mentor("m2", skills=[{"name": "python", "level": 3}]),
        make.mentor("m3", skills=[{"name": "cobol", "level": 3}], languages=["fr"]),
        make.mentee("e1"),
        make.mentee("e2"),
    )
    await matching.projected(dict.fromkeys(["m1", "m2", "m3", "e1", "e2"], 1))
    client = matching.client
    ids = {}
    for mentee in ("e1", "e2"):
        created = await client.post(
            "/v1/mentorships",
            json={"mentee_id": mentee, "mentor_id": "m1", "message": f"I am {mentee}"},
            headers=matching.auth(mentee),
        )
        assert created.status_code == 201
        ids[mentee] = created.json()["mentorship_id"]
    assert (
        await client.post(f"/v1/mentorships/{ids['e1']}/accept", headers=matching.auth("m1"))
    ).status_code == 200

    await matching.feed(make.deactivated(leaver, 2))

    async def reproposed() -> bool:
        found = await matching.db("mentorships").count_documents({"origin": "reproposal"})
        return found == 2

    await make.eventually(reproposed)
    for mentee, old in ids.items():
        items = (
            await client.get(f"/v1/mentorships?employee_id={mentee}", headers=matching.auth(mentee))
        ).json()["items"]
        by_id = {m["mentorship_id"]: m for m in items}
        assert (by_id[old]["status"], by_id[old]["reason"]) == ("ended", "mentor_left")
        (new,) = [m for m in items if m["mentorship_id"] != old]
        assert (new["status"], new["origin"], new["mentor_id"]) == ("proposed", "reproposal", "m2")
        assert new["replaces_mentorship_id"] == old
    assert (await matching.db("mentor_load").find_one({"_id": "m1"}))["active"] == 0
    load = await matching.db("mentor_load").find_one({"_id": "m2"})
    assert (load["active"], load["pending"]) == (2, 2)

    published = await matching.events(topics.MENTORSHIPS, 7)
    ended = [data for kind, data in published if kind == "mentorship.ended"]
    assert {(d["mentorship_id"], d["reason"]) for d in ended} == {
        (ids["e1"], "mentor_left"),
        (ids["e2"], "mentor_left"),
    }
    assert sum(kind == "mentorship.proposed" for kind, _ in published) == 4

    await matching.feed(make.deactivated(make.mentee("e2"), 2))

    async def freed() -> bool:
        load = await matching.db("mentor_load").find_one({"_id": "m2"})
        return (load["active"], load["pending"]) == (1, 1)

    await make.eventually(freed)
    items = (
        await client.get("/v1/mentorships?employee_id=e2&status=ended", headers=matching.admin())
    ).json()["items"]
    assert sorted(m["reason"] for m in items) == ["mentee_left", "mentor_left"]
    assert (await client.get("/v1/mentees/e1/suggestions", headers=matching.auth("e1"))).json()[
        "suggestions"
    ] == []

    await matching.feed(make.erased("e1", 2))

    async def forgotten() -> bool:
        mine = await matching.db("mentorships").find({"mentee_id": "e1"}).to_list()
        return all(m.get("message") is None and m["status"] == "ended" for m in mine)

    await make.eventually(forgotten)
    assert await matching.db("mentorships").count_documents({"mentee_id": "e1"}) == 2
