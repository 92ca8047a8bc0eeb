"""Requests, answers and endings: who may act, which state allows it, what is published."""

import asyncio

import pytest
from tandem_contracts import topics

pytestmark = pytest.mark.integration


async def test_a_request_accepted_then_ended_publishes_each_step_and_only_the_right_party_may_act(
    matching, make
):
    await matching.feed(make.mentor("m1"), make.mentor("m2"), make.mentee("e1"), make.mentee("x1"))
    await matching.projected({"m1": 1, "m2": 1, "e1": 1, "x1": 1})
    client, e1, m1, x1 = (
        matching.client,
        matching.auth("e1"),
        matching.auth("m1"),
        matching.auth("x1"),
    )

    before = await client.get("/v1/mentees/e1/suggestions?limit=5", headers=e1)
    assert before.status_code == 200
    assert {s["mentor_id"] for s in before.json()["suggestions"]} == {"m1", "m2"}
    first = before.json()["suggestions"][0]
    assert set(first) == {"mentor_id", "score", "breakdown", "reasons"}
    assert 0 < first["score"] <= 1
    assert set(first["breakdown"]) == {
        "goal_fit",
        "seniority",
        "timezone",
        "department",
        "interests",
    }
    assert (await client.get("/v1/mentees/e1/suggestions", headers=x1)).status_code == 403

    body = {"mentee_id": "e1", "mentor_id": "m1", "message": "hello"}
    assert (await client.post("/v1/mentorships", json=body, headers=x1)).status_code == 403
    created = await client.post("/v1/mentorships", json=body, headers=e1)
    assert created.status_code == 201, created.text
    proposal = created.json()
    assert (proposal["status"], proposal["version"], proposal["origin"]) == (
        "proposed",
        1,
        "request",
    )
    assert proposal["breakdown"]
    assert proposal["reasons"]
    assert proposal["expires_at"]
    url = f"/v1/mentorships/{proposal['mentorship_id']}"

    again = await client.post("/v1/mentorships", json=body, headers=e1)
    assert (again.status_code, again.json()["detail"]["reason"]) == (409, "already_open")
    assert (await client.post(f"{url}/accept", headers=e1)).status_code == 403, "the mentor answers a request"
    assert (await client.post(f"{url}/accept", headers=x1)).status_code == 403
    assert (await client.post(f"{url}/accept", headers=matching.admin())).status_code == 403

    accepted = await client.post(f"{url}/accept", headers=m1)
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["version"] == 2
    twice = await client.post(f"{url}/accept", headers=m1)
    assert twice.status_code == 409
    assert twice.json()["detail"]["current_state"] == "accepted"
    declined = await client.post(f"{url}/decline", headers=m1)
    assert declined.status_code == 409
    assert declined.json()["detail"]["current_state"] == "accepted"
    assert (await client.post(f"{url}/end", json={"reason": "completed"}, headers=x1)).status_code == 403

    ended = await client.post(f"{url}/end", json={"reason": "completed"}, headers=e1)
    assert ended.status_code == 200
    assert (ended.json()["status"], ended.json()["reason"], ended.json()["version"]) == (
        "ended",
        "completed",
        3,
    )
    late = await client.post(f"{url}/end", json={"reason": "cancelled"}, headers=m1)
    assert late.status_code == 409
    assert late.json()["detail"]["current_state"] == "ended"

    anew = await client.post("/v1/mentorships", json=body, headers=e1)
    assert (anew.status_code, anew.json()["detail"]["reason"]) == (409, "pair_excluded")
    after = await client.get("/v1/mentees/e1/suggestions", headers=e1)
    assert [s["mentor_id"] for s in after.json()["suggestions"]] == ["m2"], "an ended pair is not suggested"

    mine = await client.get("/v1/mentorships?employee_id=e1&status=ended", headers=e1)
    assert [m["mentorship_id"] for m in mine.json()["items"]] == [proposal["mentorship_id"]]
    assert (await client.get("/v1/mentorships?employee_id=e1", headers=x1)).status_code == 403
    assert (await client.get("/v1/mentorships?employee_id=m1", headers=matching.admin())).status_code == 200
    load = await matching.db("mentor_load").find_one({"_id": "m1"})
    assert (load["active"], load["pending"]) == (0, 0), "the seat is free again"

    published = await matching.events(topics.MENTORSHIPS, 3)
    assert [(kind, data["version"]) for kind, data in published] == [
        ("mentorship.proposed", 1),
        ("mentorship.accepted", 2),
        ("mentorship.ended", 3),
    ]
    assert {data["mentorship_id"] for _, data in published} == {proposal["mentorship_id"]}
    assert published[2][1]["reason"] == "completed"
    assert published[0][1]["mentee_id"] == "e1"


async def test_twenty_concurrent_requests_to_a_mentor_with_three_seats_propose_exactly_three(matching, make):
    mentees = [f"c{i:02d}" for i in range(20)]
    await matching.feed(make.mentor("busy", mentor_capacity=3), *(make.mentee(m) for m in mentees))
    await matching.projected({"busy": 1} | dict.fromkeys(mentees, 1))

    answers = await asyncio.gather(
        *(
            matching.client.post(
                "/v1/mentorships",
                json={"mentee_id": m, "mentor_id": "busy"},
                headers=matching.auth(m),
            )
            for m in mentees
        )
    )

    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 3 + [409] * 17
    assert {a.json()["detail"]["reason"] for a in answers if a.status_code == 409} == {"mentor_at_capacity"}
    stored = await matching.db("mentorships").count_documents({"mentor_id": "busy", "status": "proposed"})
    load = await matching.db("mentor_load").find_one({"_id": "busy"})
    assert stored == 3
    assert (load["active"], load["pending"]) == (3, 3)

    declined = next(a.json() for a in answers if a.status_code == 201)
    url = f"/v1/mentorships/{declined['mentorship_id']}/decline"
    assert (await matching.client.post(url, headers=matching.auth("busy"))).status_code == 200
    waiting_id = next(m for a, m in zip(answers, mentees, strict=True) if a.status_code == 409)
    retried = await matching.client.post(
        "/v1/mentorships",
        json={"mentee_id": waiting_id, "mentor_id": "busy"},
        headers=matching.auth(waiting_id),
    )
    assert retried.status_code == 201, "the declined proposal's seat is free again"
    again = await matching.client.post(
        "/v1/mentorships",
        json={"mentee_id": declined["mentee_id"], "mentor_id": "busy"},
        headers=matching.auth(declined["mentee_id"]),
    )
    assert again.json()["detail"]["reason"] == "pair_excluded"


async def test_the_expiry_job_expires_an_unanswered_proposal_and_frees_the_seat(matching_settings, make):
    async with make.running(matching_settings(proposal_expiry_days=1.5 / 86_400)) as matching:
        await matching.feed(make.mentor("slow", mentor_capacity=1), make.mentee("eager"))
        await matching.projected({"slow": 1, "eager": 1})
        created = await matching.client.post(
            "/v1/mentorships",
            json={"mentee_id": "eager", "mentor_id": "slow"},
            headers=matching.auth("eager"),
        )
        assert created.status_code == 201
        url = f"/v1/mentorships/{created.json()['mentorship_id']}"

        async def expired() -> bool:
            return (await matching.client.get(url, headers=matching.auth("eager"))).json()[
                "status"
            ] == "expired"

        await make.eventually(expired, "the proposal expired", timeout_s=30)
        published = await matching.events(topics.MENTORSHIPS, 2)
        assert [(kind, data["version"]) for kind, data in published] == [
            ("mentorship.proposed", 1),
            ("mentorship.expired", 2),
        ]
        load = await matching.db("mentor_load").find_one({"_id": "slow"})
        assert (load["active"], load["pending"]) == (0, 0)
        late = await matching.client.post(f"{url}/accept", headers=matching.auth("slow"))
        assert late.status_code == 409
        assert late.json()["detail"]["current_state"] == "expired"
