"""``relationship.outcome_recorded`` on the real broker and store reaches matching beside the
proposed breakdown; the learned weights need 30 outcomes (the program's, else all programs')."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from tandem_chassis.testing import as_record, publish_raw
from tandem_contracts import RelationshipOutcomeRecorded, new_event, topics
from tandem_matching.domain.components import COMPONENTS
from tandem_matching.domain.mentorship import Mentorship
from tandem_matching.domain.suggestions import Explanation

pytestmark = pytest.mark.integration
AT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


async def proposed(matching, program_id: str, count: int, seed: int) -> list[Mentorship]:
    """`count` mentorships of the program as matching proposes them: each with its breakdown."""
    rng = np.random.default_rng(seed)
    made = []
    for i in range(count):
        values = rng.uniform(size=len(COMPONENTS)).round(4).tolist()
        breakdown = dict(zip(COMPONENTS, values, strict=True))
        mentorship = Mentorship.proposal(
            f"{program_id}-m{i}",
            mentor_id=f"mentor-{i}",
            mentee_id=f"mentee-{i}",
            origin="round",
            score=sum(breakdown.values()) / 5,
            explanation=Explanation(breakdown, []),
            at=AT,
            expiry=timedelta(days=7),
            program_id=program_id,
        )
        assert await matching.uow.mentorships.add(mentorship)
        made.append(mentorship)
    return made


def outcome(mentorship: Mentorship, rng: np.random.Generator):
    good = mentorship.breakdown["goal_fit"] > 0.5
    recorded = RelationshipOutcomeRecorded(
        mentorship_id=mentorship.mentorship_id,
        mentor_id=mentorship.mentor_id,
        mentee_id=mentorship.mentee_id,
        program_id=mentorship.program_id,
        goals_achieved="yes" if good else str(rng.choice(["partly", "no"])),
        would_recommend=int(rng.integers(7, 11) if good else rng.integers(0, 8)),
        final_satisfaction=int(rng.integers(1, 6)),
        recorded_at=AT + timedelta(days=180),
    )
    return as_record(new_event(recorded, source="tandem-relationships"))


async def publish(matching, records) -> None:
    await publish_raw(
        matching.settings.kafka_bootstrap_servers, matching.settings.topic(topics.RELATIONSHIPS), records
    )


async def test_outcomes_reach_matching_and_thirty_make_the_learned_weights_ready(matching, make):
    client, admin = matching.client, matching.admin()
    ids = []
    for name in ("learning", "other"):
        created = await client.post("/v1/programs", json={"name": name}, headers=admin)
        assert created.status_code == 201, created.text
        ids.append(created.json()["program_id"])
    program_id, other_id = ids
    url = f"/v1/programs/{program_id}/weights/learned"
    mentorships = await proposed(matching, program_id, 30, seed=1)
    rng = np.random.default_rng(2)
    records = [outcome(m, rng) for m in mentorships]

    await publish(matching, records[:29])

    async def stored(n: int):
        return await matching.db("outcomes").count_documents({"program_id": program_id}) == n

    await make.eventually(lambda: stored(29), "29 outcomes stored")
    kept = await matching.db("outcomes").find_one({"_id": mentorships[0].mentorship_id})
    assert kept["breakdown"] == mentorships[0].breakdown, "beside the proposed breakdown"
    assert 0.0 <= kept["value"] <= 1.0

    assert (await client.get(url, headers=matching.auth("e1"))).status_code == 403
    assert (await client.get("/v1/programs/nope/weights/learned", headers=admin)).status_code == 404
    few = await client.get(url, headers=admin)
    assert few.status_code == 200, few.text
    assert few.json() == {
        "program_id": program_id,
        "status": "insufficient",
        "outcomes_used": 29,
        "needed": 30,
        "more_needed": 1,
    }

    await publish(matching, [records[29], records[0]])  # the last one, and a redelivery
    await make.eventually(lambda: stored(30), "30 outcomes stored")
    ready = await client.get(url, headers=admin)
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert (body["status"], body["scope"], body["outcomes_used"]) == ("ready", "program", 30)
    assert [c["name"] for c in body["components"]] == list(COMPONENTS)
    for component in body["components"]:
        low, high = component["ci90"]
        assert low <= component["effect"] <= high
        assert component["significant"] == (low > 0 or high < 0)
    assert sum(body["proposed_weights"].values()) == pytest.approx(1.0, abs=1e-3)
    assert min(body["proposed_weights"].values()) >= 0
    assert body["current_weights"]["goal_fit"] == pytest.approx(0.45)
    assert body["held_out"]["metric"] == "spearman"
    goal_fit = next(c for c in body["components"] if c["name"] == "goal_fit")
    assert goal_fit["significant"] and goal_fit["effect"] > 0, "the outcome was driven by goal fit"
    assert max(body["proposed_weights"], key=body["proposed_weights"].get) == "goal_fit"
    assert body["verdict"] in {
        "the proposal ranks held-out pairs better",
        "the proposal does not rank held-out pairs better: keep the current weights",
    }

    pooled = (await client.get(f"/v1/programs/{other_id}/weights/learned", headers=admin)).json()
    assert (pooled["status"], pooled["scope"], pooled["outcomes_used"]) == ("ready", "all_programs", 30)

    proposal = body["proposed_weights"]
    weights_url = f"/v1/programs/{program_id}/weights"
    assert (await client.put(weights_url, json=proposal, headers=matching.auth("e1"))).status_code == 403
    zero = dict.fromkeys(proposal, 0.0)
    assert (await client.put(weights_url, json=zero, headers=admin)).status_code == 422
    applied = await client.put(weights_url, json=proposal, headers=admin)
    assert applied.status_code == 200, applied.text
    assert applied.json()["weights"] == pytest.approx(proposal)
    again = (await client.get(url, headers=admin)).json()
    assert again["current_weights"] == pytest.approx(proposal, abs=1e-3), "applied only when asked"
