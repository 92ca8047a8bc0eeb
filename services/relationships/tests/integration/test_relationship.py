"""The pair's relationship on the real broker and store: agreement, sessions, private notes,
calendar, feedback and erasure, driven through HTTP and the public event contracts."""

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from icalendar import Calendar
from tandem_chassis.testing import eventually
from tandem_contracts import ProfileErased, ProfileRegistered, topics

pytestmark = pytest.mark.integration

M = "m-1"


def types(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [kind for kind, _ in events]


def invitation(data: dict[str, Any]) -> Any:
    calendar = Calendar.from_ical(data["ics"])
    (event,) = calendar.walk("VEVENT")
    return calendar, event


async def test_agreement_sessions_notes_and_calendar(relationships: Any, make: SimpleNamespace) -> None:
    r, mentor, mentee = relationships, make.mentor, make.mentee
    await r.publish(
        topics.PROFILES,
        ProfileRegistered(employee_id=mentee, version=1, status="active", email="mentee@example.com"),
    )
    start = r.clock.now()
    await r.accept(M, start)
    base = f"/v1/mentorships/{M}"

    # Agreement: drafted by the mentee, signed by both; a change makes version 2 for both to sign.
    goals = [{"name": "Public speaking", "current_level": 2, "target_level": 4}]
    draft = {"goals": goals, "expectations": "honest feedback", "cadence": "biweekly", "session_minutes": 45}
    assert (await r.client.put(f"{base}/agreement", json=draft, headers=r.auth(mentee))).status_code == 200
    assert (
        await r.client.put(f"{base}/agreement", json=draft, headers=r.auth("e-intruder"))
    ).status_code == 403
    await r.client.post(f"{base}/agreement/sign", json={"version": 1}, headers=r.auth(mentee))
    signed = await r.client.post(f"{base}/agreement/sign", headers=r.auth(mentor))
    assert signed.status_code == 200 and signed.json()["versions"][0]["signatures"].keys() == {mentor, mentee}
    changed = await r.client.put(
        f"{base}/agreement", json=draft | {"cadence": "weekly"}, headers=r.auth(mentor)
    )
    assert [v["version"] for v in changed.json()["versions"]] == [1, 2]
    stale = await r.client.post(f"{base}/agreement/sign", json={"version": 1}, headers=r.auth(mentee))
    assert (stale.status_code, stale.json()["reason"]) == (409, "stale_version")
    for who in (mentee, mentor):
        await r.client.post(f"{base}/agreement/sign", json={"version": 2}, headers=r.auth(who))

    # Sessions: scheduled, moved (SEQUENCE up), cancelled (METHOD:CANCEL), another logged.
    at = start + timedelta(days=2)
    past = await r.client.post(
        f"{base}/sessions",
        json={"starts_at": (start - timedelta(days=1)).isoformat()},
        headers=r.auth(mentee),
    )
    assert (past.status_code, past.json()["reason"]) == (422, "session_in_past")
    created = await r.client.post(
        f"{base}/sessions",
        json={"starts_at": at.isoformat(), "minutes": 45, "agenda": "intro", "location": "Room 4"},
        headers=r.auth(mentee),
    )
    assert created.status_code == 201
    first = created.json()["session_id"]
    moved = await r.client.patch(
        f"{base}/sessions/{first}",
        json={"starts_at": (at + timedelta(hours=3)).isoformat()},
        headers=r.auth(mentor),
    )
    assert moved.json()["sequence"] == 1
    cancelled = await r.client.post(f"{base}/sessions/{first}/cancel", headers=r.auth(mentee))
    assert cancelled.json()["status"] == "cancelled"
    second = (
        await r.client.post(f"{base}/sessions", json={"starts_at": at.isoformat()}, headers=r.auth(mentor))
    ).json()["session_id"]
    early = await r.client.post(
        f"{base}/sessions/{second}/log", json={"happened": True}, headers=r.auth(mentee)
    )
    assert (early.status_code, early.json()["reason"]) == (422, "session_not_started")
    r.clock.set(at + timedelta(hours=1))
    logged = await r.client.post(
        f"{base}/sessions/{second}/log", json={"happened": True, "notes": "went well"}, headers=r.auth(mentee)
    )
    assert logged.json()["status"] == "logged"
    again = await r.client.post(
        f"{base}/sessions/{second}/log", json={"happened": True}, headers=r.auth(mentor)
    )
    assert (again.status_code, again.json()["reason"]) == (409, "already_logged")

    events = await r.events(lambda e: "relationship.session_logged" in types(e))
    assert [k for k in types(events) if not k.endswith("feedback_requested")] == [
        "relationship.agreement_signed",
        "relationship.agreement_signed",
        "relationship.session_scheduled",
        "relationship.session_rescheduled",
        "relationship.session_cancelled",
        "relationship.session_scheduled",
        "relationship.session_logged",
    ]
    assert all(data["mentorship_id"] == M for _, data in events)
    (cal1, one), (_, two), (cal3, three) = (invitation(data) for _, data in events[2:5])
    assert one["UID"] == two["UID"] == three["UID"] == f"{first}@tandem.relationships"
    assert [int(e["SEQUENCE"]) for e in (one, two, three)] == [0, 1, 2]
    assert (cal1["METHOD"], cal3["METHOD"], str(three["STATUS"])) == ("REQUEST", "CANCEL", "CANCELLED")
    assert "mailto:mentee@example.com" in [str(a) for a in one.get("ATTENDEE")]

    # Private notes: the author's only; the other party and an admin see none.
    await r.client.put(
        f"{base}/sessions/{second}/private-notes", json={"text": "ask about slides"}, headers=r.auth(mentee)
    )
    as_mentee = await r.client.get(f"{base}/relationship", headers=r.auth(mentee))
    as_mentor = await r.client.get(f"{base}/relationship", headers=r.auth(mentor))
    as_admin = await r.client.get(f"{base}/relationship", headers=r.auth("admin-1", "program_admin"))
    notes = {
        name: [s["private_notes"] for s in answer.json()["sessions"]]
        for name, answer in (("mentee", as_mentee), ("mentor", as_mentor), ("admin", as_admin))
    }
    assert notes == {"mentee": [{}, {mentee: "ask about slides"}], "mentor": [{}, {}], "admin": [{}, {}]}
    assert "ask about slides" not in as_mentor.text + as_admin.text
    assert (await r.client.get(f"{base}/relationship", headers=r.auth("e-other"))).status_code == 403

    # Goals: progress with history, by either party.
    goal = await r.client.patch(
        f"{base}/goals/public-speaking", json={"progress": 30, "note": "first talk"}, headers=r.auth(mentor)
    )
    assert (goal.json()["progress"], len(goal.json()["history"])) == (30, 1)
    assert (
        await r.client.patch(f"{base}/goals/public-speaking", json={"progress": 130}, headers=r.auth(mentor))
    ).status_code == 422

    # The calendar feed: with the bearer token, or the owner's secret (rotated: the old one is refused).
    feed_url = f"/v1/employees/{mentee}/calendar.ics"
    with_token = await r.client.get(feed_url, headers=r.auth(mentee))
    assert with_token.headers["content-type"].startswith("text/calendar")
    assert len(Calendar.from_ical(with_token.text).walk("VEVENT")) == 2
    assert (await r.client.get(feed_url, headers=r.auth(mentor))).status_code == 403
    secret = (await r.client.get(f"/v1/employees/{mentee}/calendar-feed", headers=r.auth(mentee))).json()[
        "secret"
    ]
    assert (await r.client.get(feed_url, params={"secret": secret})).status_code == 200
    rotated = (
        await r.client.post(f"/v1/employees/{mentee}/calendar-feed/rotate", headers=r.auth(mentee))
    ).json()
    assert (await r.client.get(feed_url, params={"secret": secret})).status_code == 401
    assert (await r.client.get(feed_url, params={"secret": rotated["secret"]})).status_code == 200
    assert (
        await r.client.get(f"/v1/employees/{mentee}/calendar-feed", headers=r.auth(mentor))
    ).status_code == 403


async def test_feedback_rules_fit_declined_and_erasure(relationships: Any, make: SimpleNamespace) -> None:
    r, mentor, mentee = relationships, make.mentor, make.mentee
    start = r.clock.now()
    await r.accept(M, start)
    base = f"/v1/mentorships/{M}"
    unasked = await r.client.post(
        f"{base}/feedback", json={"kind": "session", "session_rating": 3}, headers=r.auth(mentee)
    )
    assert (unasked.status_code, unasked.json()["reason"]) == (409, "not_requested")
    r.clock.set(start + timedelta(days=1))
    held = {
        "starts_at": (start + timedelta(hours=2)).isoformat(),
        "log": {"happened": True},
        "agenda": "kick-off",
    }
    session = (await r.client.post(f"{base}/sessions", json=held, headers=r.auth(mentee))).json()[
        "session_id"
    ]
    await r.client.put(
        f"{base}/sessions/{session}/private-notes", json={"text": "secret worry"}, headers=r.auth(mentee)
    )

    opened = (await r.client.get(f"/v1/employees/{mentee}/feedback-requests", headers=r.auth(mentee))).json()
    assert sorted(q["kind"] for q in opened["requests"]) == ["fit", "session"]
    assert (
        await r.client.get(f"/v1/employees/{mentee}/feedback-requests", headers=r.auth(mentor))
    ).status_code == 403
    out_of_range = await r.client.post(
        f"{base}/feedback", json={"kind": "session", "session_rating": 5}, headers=r.auth(mentee)
    )
    assert out_of_range.status_code == 422
    rated = await r.client.post(
        f"{base}/feedback",
        json={"kind": "session", "session_rating": 2, "comment": "too fast"},
        headers=r.auth(mentee),
    )
    assert rated.status_code == 201
    twice = await r.client.post(
        f"{base}/feedback", json={"kind": "session", "session_rating": 3}, headers=r.auth(mentee)
    )
    assert (twice.status_code, twice.json()["reason"]) == (409, "already_answered")
    poor = await r.client.post(
        f"{base}/feedback", json={"kind": "fit", "fit": "poor"}, headers=r.auth(mentee)
    )
    assert poor.status_code == 201

    events = await r.events(lambda e: "relationship.fit_declined" in types(e))
    submitted = [data for kind, data in events if kind == "relationship.feedback_submitted"]
    assert [(d["kind"], d.get("session_rating"), d.get("fit")) for d in submitted] == [
        ("session", 2, None),
        ("fit", None, "poor"),
    ]
    assert all("comment" not in d and "too fast" not in str(d) for d in submitted)
    (declined,) = [data for kind, data in events if kind == "relationship.fit_declined"]
    assert (declined["declined_by"], declined["mentor_id"]) == (mentee, mentor)

    # The admins' table shows the fit answers; it is theirs only.
    table = await r.client.get(
        "/v1/relationships", params={"status": "open"}, headers=r.auth("admin-1", "program_admin")
    )
    assert [
        (row["mentorship_id"], row["fit"], row["sessions_held"]) for row in table.json()["relationships"]
    ] == [(M, {"mentee": "poor"}, 1)]
    assert (await r.client.get("/v1/relationships", headers=r.auth(mentee))).status_code == 403

    # Comments reach admins, never the other party.
    as_admin = await r.client.get(f"{base}/relationship", headers=r.auth("admin-1", "program_admin"))
    as_mentor = await r.client.get(f"{base}/relationship", headers=r.auth(mentor))
    assert "too fast" in as_admin.text and "too fast" not in as_mentor.text

    # Erasure: the mentee's notes, comments and free text go; the ratings stay, anonymous.
    await r.publish(topics.PROFILES, ProfileErased(employee_id=mentee, version=3, status="erased"))

    async def erased() -> dict[str, Any] | None:
        shown = (
            await r.client.get(f"{base}/relationship", headers=r.auth("admin-1", "program_admin"))
        ).json()
        return shown if shown["sessions"][0]["agenda"] is None else None

    shown = await eventually(erased, "erasure applied", 30)
    assert "too fast" not in str(shown)
    answered = [q for q in shown["feedback"] if q["answer"]]
    assert sorted((q["respondent_id"], q["kind"]) for q in answered) == [
        ("erased", "fit"),
        ("erased", "session"),
    ]
    assert [q["answer"]["session_rating"] for q in answered if q["kind"] == "session"] == [2]
    own = (await r.client.get(f"{base}/relationship", headers=r.auth(mentee))).json()
    assert own["sessions"][0]["private_notes"] == {}
