"""A program's admins on the real broker and store: health, outcomes, CSV exports, admin notes
and nudges, with the small groups withheld and everyone but that program's admins refused."""

import csv
import io
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from tandem_chassis.testing import eventually
from tandem_contracts import (
    MentorshipAccepted,
    MentorshipEnded,
    ProfileErased,
    ProfileRegistered,
    ProgramCreated,
    topics,
)

pytestmark = pytest.mark.integration

PROGRAM, OTHER = "p-health", "p-other"
ADMIN, OTHER_ADMIN = "admin-p", "admin-o"
NAMES = {"mentor-1": "Zoë Ångström", "mentee-1": "Łukasz Nowak", "mentor-2": "Ana", "mentee-2": "Bo"}


def mentorship(n: int) -> str:
    return f"m-{n}"


async def seed(r: Any, pairs: int) -> datetime:
    """A program with ``pairs`` accepted mentorships (mentor-n with mentee-n) and named people."""
    start: datetime = r.clock.now()
    await r.publish(
        topics.PROGRAMS,
        ProgramCreated(program_id=PROGRAM, name="Health", admin_ids=[ADMIN]),
        ProgramCreated(program_id=OTHER, name="Other", admin_ids=[OTHER_ADMIN]),
    )
    profiles = [
        ProfileRegistered(
            employee_id=f"{role}-{n}", version=1, status="active", display_name=NAMES.get(f"{role}-{n}")
        )
        for n in range(1, pairs + 1)
        for role in ("mentor", "mentee")
    ]
    await r.publish(topics.PROFILES, *profiles)
    await r.publish(
        topics.MENTORSHIPS,
        *[
            MentorshipAccepted(
                mentorship_id=mentorship(n),
                mentor_id=f"mentor-{n}",
                mentee_id=f"mentee-{n}",
                program_id=PROGRAM,
                status="accepted",
                accepted_at=start,
            )
            for n in range(1, pairs + 1)
        ],
    )
    for n in range(1, pairs + 1):
        await r.relationship(mentorship(n), sub=f"mentee-{n}")

    async def named() -> bool | None:
        answer = await r.client.get(f"/v1/programs/{PROGRAM}/health", headers=r.auth(ADMIN, "program_admin"))
        rows = answer.json()["pairs"] if answer.status_code == 200 else []
        return True if rows and rows[0]["mentor_name"] == NAMES["mentor-1"] else None

    await eventually(named, "program and names known", 30)
    return start


async def held_session(r: Any, n: int, at: datetime, minutes: int = 60) -> None:
    body = {"starts_at": at.isoformat(), "minutes": minutes, "log": {"happened": True, "minutes": minutes}}
    created = await r.client.post(
        f"/v1/mentorships/{mentorship(n)}/sessions", json=body, headers=r.auth(f"mentee-{n}")
    )
    assert created.status_code == 201, created.text


async def feedback(r: Any, n: int, who: str, **body: Any) -> None:
    answer = await r.client.post(
        f"/v1/mentorships/{mentorship(n)}/feedback", json=body, headers=r.auth(f"{who}-{n}")
    )
    assert answer.status_code == 201, answer.text


async def get(r: Any, path: str, sub: str = ADMIN, *roles: str, **params: Any) -> Any:
    return await r.client.get(path, params=params, headers=r.auth(sub, *(roles or ("program_admin",))))


async def test_health_figures_withhold_two_answers_and_show_three(
    relationships: Any, make: SimpleNamespace
) -> None:
    r = relationships
    start = await seed(r, 3)
    r.clock.set(start + timedelta(days=5))
    await held_session(r, 1, start + timedelta(days=2), minutes=60)
    await held_session(r, 1, start + timedelta(days=4), minutes=30)
    await held_session(r, 2, start + timedelta(days=1), minutes=45)
    await feedback(r, 1, "mentee", kind="fit", fit="good")
    await feedback(r, 1, "mentor", kind="fit", fit="good")

    health = (await get(r, f"/v1/programs/{PROGRAM}/health", sort="fewest_sessions")).json()
    assert health["pairs_by_health"] == {"healthy": 3, "at_risk": 0, "inactive": 0}
    assert health["agreements_signed_share"] == 0.0
    assert health["sessions"] == {"total": 3, "median_per_pair": 1.0}
    assert health["hours"] == {"total": 2.25, "median_per_pair": 0.75}
    assert health["days_to_first_session_median"] == 1.5
    assert health["fit_answers"] == {"withheld": True, "reason": "fewer than 3 answers", "answers": 2}
    assert [(p["mentorship_id"], p["sessions"]) for p in health["pairs"]] == [
        ("m-3", 0),
        ("m-2", 1),
        ("m-1", 2),
    ]
    first = next(p for p in health["pairs"] if p["mentorship_id"] == "m-1")
    assert (first["mentor_name"], first["mentee_name"]) == (NAMES["mentor-1"], NAMES["mentee-1"])
    assert first["last_session_at"].startswith((start + timedelta(days=4)).date().isoformat())
    assert first["open_requests"] == 4  # both parties rate both sessions; the fit is answered

    await feedback(r, 2, "mentee", kind="fit", fit="unsure")
    health = (await get(r, f"/v1/programs/{PROGRAM}/health", sort="oldest_last_session")).json()
    assert health["fit_answers"] == {"good": 2, "unsure": 1, "poor": 0}
    assert [p["mentorship_id"] for p in health["pairs"]] == ["m-3", "m-2", "m-1"]


async def test_outcomes_withhold_two_final_answers_and_show_three(
    relationships: Any, make: SimpleNamespace
) -> None:
    r = relationships
    start = await seed(r, 3)
    goals = [{"name": "Public speaking", "current_level": 2, "target_level": 4}]
    for n in (1, 2, 3):
        await r.client.put(
            f"/v1/mentorships/{mentorship(n)}/agreement", json={"goals": goals}, headers=r.auth(f"mentee-{n}")
        )
    ended_at = start + timedelta(days=20)
    r.clock.set(ended_at)
    reasons = {1: "completed", 2: "not_a_fit", 3: "completed"}
    await r.publish(
        topics.MENTORSHIPS,
        *[
            MentorshipEnded(
                mentorship_id=mentorship(n),
                mentor_id=f"mentor-{n}",
                mentee_id=f"mentee-{n}",
                program_id=PROGRAM,
                status="ended",
                reason=reason,  # type: ignore[arg-type]
                accepted_at=start,
                ended_at=ended_at,
            )
            for n, reason in reasons.items()
        ],
    )

    async def closed() -> bool | None:
        outcomes = (await get(r, f"/v1/programs/{PROGRAM}/outcomes")).json()
        return True if outcomes["ended"]["completed"] + outcomes["ended"]["ended_early"] == 3 else None

    await eventually(closed, "three mentorships ended", 30)
    finals = {1: ("yes", 10, 3), 2: ("no", 2, 2), 3: ("partly", 9, 4)}
    for n in (1, 2):
        achieved, recommend, level = finals[n]
        await feedback(
            r,
            n,
            "mentee",
            kind="final",
            goals_achieved=achieved,
            would_recommend=recommend,
            satisfaction=4,
            goal_levels={"public-speaking": level},
        )
    outcomes = (await get(r, f"/v1/programs/{PROGRAM}/outcomes")).json()
    assert outcomes["ended"] == {
        "completed": 2,
        "ended_early": 1,
        "by_reason": {"completed": 2, "not_a_fit": 1},
    }
    withheld = {"withheld": True, "reason": "fewer than 3 answers", "answers": 2}
    assert outcomes["goals_achieved"] == withheld and outcomes["would_recommend"] == withheld
    assert outcomes["level_gain"] == [{"skill": "Public speaking", **withheld}]
    assert outcomes["satisfaction"]["final_mean"] == withheld
    assert "10" not in str(outcomes["would_recommend"])

    achieved, recommend, level = finals[3]
    await feedback(
        r,
        3,
        "mentee",
        kind="final",
        goals_achieved=achieved,
        would_recommend=recommend,
        satisfaction=5,
        goal_levels={"public-speaking": level},
    )
    outcomes = (await get(r, f"/v1/programs/{PROGRAM}/outcomes")).json()
    assert outcomes["goals_achieved"] == {"yes": 0.333, "partly": 0.333, "no": 0.333, "answers": 3}
    assert outcomes["would_recommend"] == {
        "score": round(100 * (2 - 1) / 3, 1),
        "promoters": 2,
        "detractors": 1,
        "answers": 3,
    }
    assert outcomes["level_gain"] == [{"skill": "Public speaking", "mean": 1.0, "count": 3}]
    assert outcomes["satisfaction"] == {
        "final_mean": 4.33,
        "pulse_mean": None,
        "answers_final": 3,
        "answers_pulse": 0,
    }


async def test_only_that_programs_admins_read_health_and_outcomes(
    relationships: Any, make: SimpleNamespace
) -> None:
    r = relationships
    await seed(r, 1)
    for path in (f"/v1/programs/{PROGRAM}/health", f"/v1/programs/{PROGRAM}/outcomes"):
        assert (await get(r, path, "mentee-1", "employee")).status_code == 403
        assert (await get(r, path, ADMIN, "employee")).status_code == 403  # the id without the role
        other = await get(r, path, OTHER_ADMIN)
        assert (other.status_code, other.json()["reason"]) == (403, "not_program_admin")
        assert (await get(r, path)).status_code == 200
    bad_sort = await get(r, f"/v1/programs/{PROGRAM}/health", sort="loudest")
    assert bad_sort.status_code == 422
    assert (await get(r, "/v1/programs/p-unknown/health")).status_code == 404


def parsed(answer: Any) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8"))))


async def test_csv_exports_notes_nudges_and_erasure(relationships: Any, make: SimpleNamespace) -> None:
    r = relationships
    start = await seed(r, 2)
    r.clock.set(start + timedelta(days=5))
    await held_session(r, 1, start + timedelta(days=2), minutes=90)
    await feedback(r, 1, "mentee", kind="session", session_rating=4, comment="très utile — merci")
    await feedback(r, 1, "mentor", kind="fit", fit="good")

    pairs = parsed(await get(r, f"/v1/programs/{PROGRAM}/pairs.csv"))
    assert list(pairs[0]) == [
        "mentorship_id", "mentor_id", "mentor_name", "mentee_id", "mentee_name", "status", "health",
        "agreement_signed", "sessions", "hours", "last_session_at", "latest_pulse", "open_requests",
        "ended_reason",
    ]  # fmt: skip
    assert [
        (p["mentorship_id"], p["mentor_name"], p["mentee_name"], p["sessions"], p["hours"]) for p in pairs
    ] == [
        ("m-1", "Zoë Ångström", "Łukasz Nowak", "1", "1.5"),
        ("m-2", "Ana", "Bo", "0", "0.0"),
    ]
    assert (pairs[0]["status"], pairs[0]["agreement_signed"], pairs[0]["open_requests"]) == (
        "open",
        "false",
        "2",
    )
    answers = parsed(await get(r, f"/v1/programs/{PROGRAM}/feedback.csv"))
    assert sorted(
        (a["kind"], a["respondent_id"], a["session_rating"], a["fit"], a["comment"]) for a in answers
    ) == [
        ("fit", "mentor-1", "", "good", ""),
        ("session", "mentee-1", "4", "", "très utile — merci"),
    ]

    # Admin notes: that program's admins only; the pair, other employees and other admins are refused.
    notes_path = f"/v1/mentorships/{mentorship(1)}/admin-notes"
    note = await r.client.post(
        notes_path, json={"text": "ask Zoë about the slides"}, headers=r.auth(ADMIN, "program_admin")
    )
    assert note.status_code == 201 and note.json()["author_id"] == ADMIN
    assert (
        await r.client.post(notes_path, json={"text": ""}, headers=r.auth(ADMIN, "program_admin"))
    ).status_code == 422
    for sub, roles in (
        ("mentee-1", ("employee",)),
        ("mentor-1", ("employee",)),
        (OTHER_ADMIN, ("program_admin",)),
    ):
        assert (await get(r, notes_path, sub, *roles)).status_code == 403
        refused = await r.client.post(notes_path, json={"text": "x"}, headers=r.auth(sub, *roles))
        assert refused.status_code == 403
    listed = (await get(r, notes_path)).json()["items"]
    assert [(n["note_id"], n["text"]) for n in listed] == [
        (note.json()["note_id"], "ask Zoë about the slides")
    ]
    health = (await get(r, f"/v1/programs/{PROGRAM}/health")).json()
    assert [n["text"] for n in health["pairs"][0]["admin_notes"]] == ["ask Zoë about the slides"]
    as_party = await r.client.get(f"/v1/mentorships/{mentorship(1)}/relationship", headers=r.auth("mentee-1"))
    assert as_party.status_code == 200 and "slides" not in as_party.text

    # Nudge: both parties, on the relationships topic; only that program's admins.
    nudge_path = f"/v1/mentorships/{mentorship(2)}/nudge"
    for sub, roles in (("mentee-2", ("employee",)), (OTHER_ADMIN, ("program_admin",))):
        assert (await r.client.post(nudge_path, json={}, headers=r.auth(sub, *roles))).status_code == 403
    too_long = await r.client.post(
        nudge_path, json={"message": "x" * 501}, headers=r.auth(ADMIN, "program_admin")
    )
    assert too_long.status_code == 422
    sent = await r.client.post(
        nudge_path, json={"message": "Time to meet?"}, headers=r.auth(ADMIN, "program_admin")
    )
    assert sent.status_code == 202
    events = await r.events(lambda e: any(kind == "relationship.nudged" for kind, _ in e))
    (nudged,) = [data for kind, data in events if kind == "relationship.nudged"]
    assert (nudged["recipient_ids"], nudged["sent_by"], nudged["message"]) == (
        ["mentor-2", "mentee-2"],
        ADMIN,
        "Time to meet?",
    )
    assert nudged["nudge_id"] == sent.json()["nudge_id"] and nudged["program_id"] == PROGRAM
    for path in (f"/v1/programs/{PROGRAM}/pairs.csv", f"/v1/programs/{PROGRAM}/feedback.csv"):
        assert (await get(r, path, "mentee-1", "employee")).status_code == 403
        assert (await get(r, path, OTHER_ADMIN)).status_code == 403

    # Erasure of a party: the pair's admin notes and the person's comments go.
    await r.publish(topics.PROFILES, ProfileErased(employee_id="mentee-1", version=2, status="erased"))

    async def erased() -> bool | None:
        return True if (await get(r, notes_path)).json()["items"] == [] else None

    await eventually(erased, "admin notes erased", 30)
    answers = parsed(await get(r, f"/v1/programs/{PROGRAM}/feedback.csv"))
    assert sorted((a["respondent_id"], a["session_rating"], a["comment"]) for a in answers) == [
        ("erased", "4", ""),
        ("mentor-1", "", ""),
    ]
    assert "très utile" not in (await get(r, f"/v1/programs/{PROGRAM}/feedback.csv")).text
    pairs = parsed(await get(r, f"/v1/programs/{PROGRAM}/pairs.csv"))
    assert pairs[0]["mentee_name"] == ""

    # Erasure of an admin: the notes they wrote on any pair go too.
    other_notes = f"/v1/mentorships/{mentorship(2)}/admin-notes"
    posted = await r.client.post(
        other_notes, json={"text": "follow up"}, headers=r.auth(ADMIN, "program_admin")
    )
    assert posted.status_code == 201
    await r.publish(topics.PROFILES, ProfileErased(employee_id=ADMIN, version=2, status="erased"))

    async def admin_erased() -> bool | None:
        return True if (await get(r, other_notes)).json()["items"] == [] else None

    await eventually(admin_erased, "the erased admin's notes removed", 30)
