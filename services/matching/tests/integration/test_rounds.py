"""Program rounds: one global assignment, proposals with events, and the published report."""

import pytest
from tandem_contracts import topics

pytestmark = pytest.mark.integration


async def test_a_round_proposes_the_global_assignment_and_publishes_its_report(matching, make):
    await matching.feed(
        make.mentor("ma", mentor_capacity=1, skills=[{"name": "go", "level": 5}]),
        make.mentor("mb", mentor_capacity=1, skills=[{"name": "rust", "level": 5}]),
        make.mentor("mc", mentor_capacity=5, department="sales"),
        make.mentee("e1", goals=[{"name": "go", "level": 3}]),
        make.mentee("e2", goals=[{"name": "rust", "level": 3}]),
        make.mentee("e3", goals=[{"name": "go", "level": 3}, {"name": "rust", "level": 3}]),
        make.mentee("e4", department="sales"),
    )
    await matching.projected(dict.fromkeys(["ma", "mb", "mc", "e1", "e2", "e3", "e4"], 1))
    client, admin = matching.client, matching.admin("admin-7")

    spec = {
        "name": "Spring cohort",
        "eligibility": {"departments": ["eng"]},
        "weights": {
            "goal_fit": 0.8,
            "seniority": 0.05,
            "timezone": 0.05,
            "department": 0.05,
            "interests": 0.05,
        },
        "objective": "participation",
        "mentorship_length_days": 90,
        "proposal_expiry_days": 3,
    }
    assert (await client.post("/v1/programs", json=spec, headers=matching.auth("e1"))).status_code == 403
    created = await client.post("/v1/programs", json=spec, headers=admin)
    assert created.status_code == 201, created.text
    program = created.json()
    assert program["admin_ids"] == ["admin-7"]
    assert program["objective"] == "participation"
    url = f"/v1/programs/{program['program_id']}"
    enrolled = await client.post(
        f"{url}/enrollments",
        json={"mentee_ids": ["e1", "e2", "e3", "e4", "ghost"], "mentor_ids": ["ma", "mb", "mc"]},
        headers=admin,
    )
    assert enrolled.status_code == 200
    assert enrolled.json()["mentor_ids"] == ["ma", "mb", "mc"]

    ran = await client.post(f"{url}/rounds", headers=admin)
    assert ran.status_code == 201, ran.text
    report = ran.json()
    assert report["matched"] == 2
    assert {(p["mentee_id"], p["mentor_id"]) for p in report["pairs"]} == {
        ("e1", "ma"),
        ("e2", "mb"),
    }
    assert {u["mentee_id"]: u["reason"] for u in report["unmatched"]} == {
        "e3": "capacity_exhausted",
        "e4": "mentee_ineligible",
        "ghost": "profile_unknown",
    }
    assert report["total_score"] == pytest.approx(sum(p["score"] for p in report["pairs"]), abs=1e-3)
    assert report["min_score"] <= report["mean_score"]
    assert report["mentor_load"] == {"0": 1, "1": 2}
    assert (await client.get(f"{url}/rounds/{report['round_id']}", headers=admin)).json() == report
    assert (await client.get(f"{url}", headers=admin)).json()["round_ids"] == [report["round_id"]]
    assert program["program_id"] in {
        p["program_id"] for p in (await client.get("/v1/programs", headers=admin)).json()["items"]
    }

    proposals = await client.get("/v1/mentorships?employee_id=e1", headers=matching.auth("e1"))
    (proposal,) = proposals.json()["items"]
    assert (proposal["origin"], proposal["status"], proposal["round_id"]) == (
        "round",
        "proposed",
        report["round_id"],
    )
    mentorship = f"/v1/mentorships/{proposal['mentorship_id']}"
    assert (await client.post(f"{mentorship}/accept", headers=matching.auth("ma"))).status_code == 403
    assert (await client.post(f"{mentorship}/accept", headers=matching.auth("e1"))).status_code == 200

    mentorship_events = await matching.events(topics.MENTORSHIPS, 3)
    assert (
        sorted(kind for kind, _ in mentorship_events) == ["mentorship.accepted"] + ["mentorship.proposed"] * 2
    )
    program_events = await matching.events(topics.PROGRAMS, 2)
    assert [kind for kind, _ in program_events] == ["program.created", "program.round_completed"]
    completed = program_events[1][1]
    assert completed["admin_ids"] == ["admin-7"]
    assert completed["program_name"] == "Spring cohort"
    assert (completed["matched"], completed["unmatched"]) == (2, 3)
    assert completed["unmatched_reasons"] == {
        "capacity_exhausted": 1,
        "mentee_ineligible": 1,
        "profile_unknown": 1,
    }
    assert completed["mentor_load"] == {"0": 1, "1": 2}
    assert completed["total_score"] == pytest.approx(report["total_score"])

    second = (await client.post(f"{url}/rounds", headers=admin)).json()
    assert second["matched"] == 0, "matched mentees wait; the full mentors have no seat left"
    assert {u["mentee_id"] for u in second["unmatched"]} == {"e3", "e4", "ghost"}


async def test_a_program_for_a_group_suggests_and_matches_only_members_of_that_group(matching, make):
    """Groups arrive on ``tandem.profiles`` (from SCIM); a program's eligibility may name them."""
    await matching.feed(
        make.mentor("gm-in", groups=["g-wie"]),
        make.mentor("gm-out", skills=[{"name": "python", "level": 5}]),
        make.mentee("ge-in", groups=["g-wie"]),
        make.mentee("ge-out"),
    )
    await matching.projected(dict.fromkeys(["gm-in", "gm-out", "ge-in", "ge-out"], 1))
    client, admin = matching.client, matching.admin("admin-g")
    spec = {"name": "Women in Engineering", "eligibility": {"groups": ["g-wie"]}}
    created = await client.post("/v1/programs", json=spec, headers=admin)
    assert created.status_code == 201, created.text
    program = created.json()
    assert program["eligibility"]["groups"] == ["g-wie"], "stored and read back"
    url = f"/v1/programs/{program['program_id']}"

    def suggested(mentee: str, **params: str):
        return client.get(f"/v1/mentees/{mentee}/suggestions", params=params, headers=matching.auth(mentee))

    anywhere = await suggested("ge-in")
    assert {s["mentor_id"] for s in anywhere.json()["suggestions"]} == {"gm-in", "gm-out"}
    within = await suggested("ge-in", program_id=program["program_id"])
    assert [s["mentor_id"] for s in within.json()["suggestions"]] == ["gm-in"]
    assert (await suggested("ge-out", program_id=program["program_id"])).json()["suggestions"] == []
    assert (await suggested("ge-in", program_id="no-such-program")).status_code == 404

    await client.post(
        f"{url}/enrollments",
        json={"mentee_ids": ["ge-in", "ge-out"], "mentor_ids": ["gm-in", "gm-out"]},
        headers=admin,
    )
    report = (await client.post(f"{url}/rounds", headers=admin)).json()
    assert [(p["mentee_id"], p["mentor_id"]) for p in report["pairs"]] == [("ge-in", "gm-in")]
    assert {u["mentee_id"]: u["reason"] for u in report["unmatched"]} == {"ge-out": "mentee_ineligible"}
