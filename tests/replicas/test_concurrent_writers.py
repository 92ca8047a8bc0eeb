"""Concurrent HTTP writers to one aggregate through two replicas of a service.

Each scenario spreads its requests over both replicas, so two processes (two in-process locks,
two store connections) race for one document, and checks that the outcome is what one writer
at a time would give: capacity held, no update lost, one round.
"""

import asyncio
import json
from collections import Counter
from typing import Any

import pytest
from tandem_chassis.testing import eventually, read_topic
from tandem_contracts import EmployeeJoined, topics

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

REQUESTS = 20
CAPACITY = 3


async def test_twenty_requests_for_a_mentor_with_three_seats_over_two_replicas(cluster) -> None:
    mentees = [f"cap-mentee-{n}" for n in range(REQUESTS)]
    await cluster.feed_profiles(cluster.mentor("cap-mentor", CAPACITY), *map(cluster.mentee, mentees))
    await cluster.known_to_every_matching_replica("cap-mentor", *mentees)
    replicas = cluster.replicas("matching")

    answers = await asyncio.gather(
        *(
            cluster.call(
                "POST",
                replicas[n % len(replicas)],
                "/v1/mentorships",
                headers=cluster.headers(mentee),
                json={"mentee_id": mentee, "mentor_id": "cap-mentor"},
            )
            for n, mentee in enumerate(mentees)
        )
    )

    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {201: CAPACITY, 409: REQUESTS - CAPACITY}, [a.text for a in answers]
    refused = {a.json()["detail"]["reason"] for a in answers if a.status_code == 409}
    assert refused == {"mentor_at_capacity"}
    listed = await cluster.call(
        "GET",
        replicas[1],
        "/v1/mentorships",
        headers=cluster.admin(),
        params={"employee_id": "cap-mentor", "limit": 500},
    )
    proposed = [m for m in listed.json()["items"] if m["status"] == "proposed"]
    assert len(proposed) == CAPACITY
    assert sorted(m["mentorship_id"] for m in proposed) == sorted(
        a.json()["mentorship_id"] for a in answers if a.status_code == 201
    )


def _change(field: str, round_no: int) -> Any:
    """A value of ``field`` unique to this round."""
    return {
        "roles": ["mentor"] if round_no % 2 else ["mentee"],
        "skills": [{"name": f"skill-{round_no}", "level": 3}],
        "goals": [{"name": f"goal-{round_no}", "level": 2}],
        "interests": [f"interest-{round_no}"],
        "bio": f"bio of round {round_no}",
        "mentor_capacity": round_no,
        "availability_hours_per_month": 10 + round_no,
        "preferences": {"department": "same" if round_no % 2 else "other"},
    }[field]


FIELDS = (
    "roles",
    "skills",
    "goals",
    "interests",
    "bio",
    "mentor_capacity",
    "availability_hours_per_month",
    "preferences",
)


def _holds(view: dict[str, Any], field: str, value: Any) -> bool:
    if field == "preferences":
        return bool(view[field].get("department") == value["department"])
    if field in ("skills", "goals"):
        return [(s["name"], s["level"]) for s in view[field]] == [(s["name"], s["level"]) for s in value]
    return bool(view[field] == value)


async def test_concurrent_patches_of_one_profile_through_both_replicas_lose_no_update(cluster) -> None:
    """Each round, 8 PATCHes of one profile (each changes another field) go to both replicas
    at once: every change answered 200 is in the stored profile, the others answered 409."""
    employee = "patched-1"
    await cluster.publish_hr(EmployeeJoined(employee_id=employee, display_name="Pat", email="p@example.com"))
    replicas = cluster.replicas("profiles")

    async def stored() -> dict[str, Any] | None:
        path, own = f"/v1/profiles/{employee}", cluster.headers(employee)
        answer = await cluster.call("GET", replicas[0], path, headers=own)
        return answer.json() if answer.status_code == 200 else None

    version = (await eventually(stored, "the profile registered", 120))["version"]
    outcomes: Counter[int] = Counter()
    answered: dict[int, dict[str, Any]] = {}
    for round_no in range(1, 4):
        answers = await asyncio.gather(
            *(
                cluster.call(
                    "PATCH",
                    replicas[n % len(replicas)],
                    f"/v1/profiles/{employee}",
                    headers=cluster.headers(employee),
                    json={field: _change(field, round_no)},
                )
                for n, field in enumerate(FIELDS)
            )
        )
        outcomes.update(answer.status_code for answer in answers)
        assert {a.status_code for a in answers} <= {200, 409}, [a.text for a in answers]
        view = await stored()
        assert view is not None
        won = [(field, a) for field, a in zip(FIELDS, answers, strict=True) if a.status_code == 200]
        lost = [field for field, _ in won if not _holds(view, field, _change(field, round_no))]
        assert not lost, f"round {round_no}: acknowledged changes of {lost} are not in {view}"
        versions = sorted(a.json()["version"] for _, a in won)
        assert versions == list(range(version + 1, version + 1 + len(won))), "one version per change"
        assert view["version"] == version + len(won)
        version = view["version"]
        answered.update({a.json()["version"]: a.json() for _, a in won})

    # Each change was published as the snapshot its writer answered, once.
    async def published_all() -> list[dict[str, Any]] | None:
        records = await cluster.records(topics.PROFILES)
        found = [json.loads(r.value) for r in records if r.key == employee.encode()]
        return found if set(answered) <= {event["version"] for event in found} else None

    published = await eventually(published_all, "every answered version published", 60)
    snapshots = {event["version"]: event for event in published if event["version"] in answered}
    assert len(published) == len({e["version"] for e in published}), "a version published twice"
    for number, view in answered.items():
        assert number in snapshots, f"version {number} was not published"
        differs = [k for k, v in view.items() if k in snapshots[number] and snapshots[number][k] != v]
        assert not differs, f"version {number} was published with other {differs} than answered"
    print(f"  PATCH outcomes over 3 rounds of {len(FIELDS)}: {dict(outcomes)}")
    assert outcomes[200] > 0


async def test_a_round_started_on_both_replicas_at_once_runs_once(cluster) -> None:
    mentors = [f"round-mentor-{n}" for n in range(4)]
    mentees = [f"round-mentee-{n}" for n in range(8)]
    await cluster.feed_profiles(*(cluster.mentor(m, 2) for m in mentors), *map(cluster.mentee, mentees))
    await cluster.known_to_every_matching_replica(mentors[-1], *mentees)
    first, second = cluster.replicas("matching")
    created = await cluster.call(
        "POST", first, "/v1/programs", headers=cluster.admin(), json={"name": "Spring"}
    )
    assert created.status_code == 201, created.text
    program = created.json()["program_id"]
    enrolled = await cluster.call(
        "POST",
        second,
        f"/v1/programs/{program}/enrollments",
        headers=cluster.admin(),
        json={"mentee_ids": mentees, "mentor_ids": mentors},
    )
    assert enrolled.status_code == 200, enrolled.text

    answers = await asyncio.gather(
        *(
            cluster.call("POST", replica, f"/v1/programs/{program}/rounds", headers=cluster.admin())
            for replica in (first, second)
        )
    )

    statuses = sorted(a.status_code for a in answers)
    listed = await cluster.call(
        "GET", first, "/v1/mentorships", headers=cluster.admin(), params={"status": "proposed", "limit": 500}
    )
    proposals = Counter(m["mentee_id"] for m in listed.json()["items"] if m.get("program_id") == program)
    twice = {mentee: n for mentee, n in proposals.items() if n > 1}
    rounds = {a.json()["round_id"] for a in answers if a.status_code == 201}
    print(f"  round answers {statuses}, rounds {len(rounds)}, proposals per mentee {dict(proposals)}")
    assert not twice, f"mentees proposed twice: {twice} (answers {statuses}, rounds {rounds})"
    assert sum(proposals.values()) == len(mentees), "4 mentors x 2 seats: every mentee matched once"
    assert statuses in ([201, 409], [201, 201]), [a.text for a in answers]
    assert len(rounds) == 1, f"two rounds ran: {rounds}"


EXPIRY_S = 15.0
JOBS_RUN_S = 30.0


async def test_periodic_jobs_on_both_replicas_have_each_effect_once(cluster, mongo_client) -> None:
    """Proposal expiry (matching) and check-in reminders (notifications) run on both replicas:
    each proposal expires once (one event, one seat freed, one email per party) and each
    check-in reminder is sent once to each party."""
    mentors = [f"jobs-mentor-{n}" for n in range(2)]
    mentees = [f"jobs-mentee-{n}" for n in range(4)]
    await cluster.feed_profiles(*(cluster.mentor(m, 2) for m in mentors), *map(cluster.mentee, mentees))
    await cluster.known_to_every_matching_replica(mentors[-1], *mentees)
    first, second = cluster.replicas("matching")
    created = await cluster.call(
        "POST",
        first,
        "/v1/programs",
        headers=cluster.admin(),
        json={"name": "Jobs", "proposal_expiry_days": EXPIRY_S / 86400},
    )
    program = created.json()["program_id"]
    enrol = {"mentee_ids": mentees, "mentor_ids": mentors}
    await cluster.call(
        "POST", second, f"/v1/programs/{program}/enrollments", headers=cluster.admin(), json=enrol
    )
    report = await cluster.call("POST", first, f"/v1/programs/{program}/rounds", headers=cluster.admin())
    pairs = [(p["mentee_id"], p["mentor_id"]) for p in report.json()["pairs"]]
    assert len(pairs) == len(mentees), report.text
    listed = await cluster.call(
        "GET", second, "/v1/mentorships", headers=cluster.admin(), params={"status": "proposed", "limit": 500}
    )
    proposals = [m for m in listed.json()["items"] if m.get("program_id") == program]
    accepted, left = proposals[:2], proposals[2:]
    for n, mentorship in enumerate(accepted):
        answer = await cluster.call(
            "POST",
            (first, second)[n % 2],
            f"/v1/mentorships/{mentorship['mentorship_id']}/accept",
            headers=cluster.headers(mentorship["mentee_id"]),
        )
        assert answer.status_code == 200, answer.text

    await asyncio.sleep(JOBS_RUN_S)  # both replicas' jobs run dozens of times meanwhile

    async def expired_all() -> bool:
        states = [
            (
                await cluster.call(
                    "GET", first, f"/v1/mentorships/{m['mentorship_id']}", headers=cluster.admin()
                )
            ).json()["status"]
            for m in left
        ]
        return states == ["expired"] * len(left)

    await eventually(expired_all, "the unanswered proposals expired", 120)
    records = await read_topic(
        cluster.platform.bootstrap,
        cluster.platform.topic(topics.MENTORSHIPS),
        until=lambda found: (
            sum(dict(r.headers)["ce_type"] == b"mentorship.expired" for r in found) >= len(left)
        ),
    )
    expiries = [
        (json.loads(r.value)["mentorship_id"], dict(r.headers)["ce_id"].decode())
        for r in records
        if dict(r.headers)["ce_type"] == b"mentorship.expired"
    ]
    distinct = Counter(mentorship for mentorship, _ in set(expiries))
    print(f"  mentorship.expired records {len(expiries)}, distinct events {sum(distinct.values())}")
    assert distinct == Counter({m["mentorship_id"]: 1 for m in left}), "one expiry per proposal"
    assert len(expiries) == len(left), f"an expiry event was published twice: {expiries}"
    seats = mongo_client[cluster.platform.database("matching")]["mentor_load"]
    for mentor_id in mentors:
        held = await seats.find_one({"_id": mentor_id})
        mentoring = sum(m["mentor_id"] == mentor_id for m in accepted)
        assert held is not None and (held["active"], held["pending"]) == (mentoring, 0), held

    def emails(kind: str) -> Counter[str]:
        return Counter(
            str(r.message["X-Tandem-Delivery-Id"])
            for r in cluster.sink.snapshot()
            if str(r.message["X-Tandem-Notification-Kind"]) == kind
        )

    await eventually(lambda: len(emails("mentorship_expired")) >= 2 * len(left), "expiry emails", 120)
    expiry, checkins = emails("mentorship_expired"), emails("checkin_reminder")
    print(f"  expiry emails {dict(expiry)}")
    print(f"  check-in emails: {len(checkins)} distinct, {sum(checkins.values())} raw")
    assert all(n == 1 for n in expiry.values()) and len(expiry) == 2 * len(left)
    assert checkins and all(n == 1 for n in checkins.values()), f"check-ins sent twice: {checkins}"
    parties = {m["mentor_id"] for m in accepted} | {m["mentee_id"] for m in accepted}
    reminded = {
        str(r.message["To"])
        for r in cluster.sink.snapshot()
        if "checkin" in str(r.message["X-Tandem-Notification-Kind"])
    }
    assert {f"{p}@example.com" for p in parties} <= reminded
