"""After the match, across the four services as processes: a session invitation reaches both
people as a real iCalendar attachment; a mentee who says the fit is poor has the mentorship
ended by matching (``not_a_fit``), gets a new proposal with another mentor, and the emails say so;
a program admin's nudge of a pair matched in a round reaches both of them by email.
"""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import icalendar
import pytest
from tandem_chassis.auth import mint_dev_token
from tandem_chassis.testing import Platform, eventually, free_port, publish_event
from tandem_contracts import EmployeeJoined, topics

from services.notifications.tests.support import SmtpSink

pytestmark = pytest.mark.e2e

PEOPLE = {
    "rf-mentee": ("Mina Mentee", ["mentee"], 2),
    "rf-mentor-a": ("Ada Mentor", ["mentor"], 6),
    "rf-mentor-b": ("Bea Mentor", ["mentor"], 6),
}


@pytest.fixture
async def world(
    isolated_settings: dict[str, str], tmp_path: Path
) -> AsyncIterator[tuple[Platform, SmtpSink]]:
    sink = SmtpSink(free_port())
    sink.start()
    platform = Platform(
        isolated_settings
        | {
            "TANDEM_SMTP_HOST": "127.0.0.1",
            "TANDEM_SMTP_PORT": str(sink.port),
            "TANDEM_DISPATCHER_POLL_INTERVAL_S": "0.5",
            "TANDEM_POOL_REFRESH_INTERVAL_S": "0.3",
        },
        tmp_path,
    )
    try:
        await platform.start()
        yield platform, sink
    finally:
        platform.stop()
        sink.stop()


def headers(platform: Platform, sub: str, role: str = "employee") -> dict[str, str]:
    token = mint_dev_token(platform.env["TANDEM_JWT_SECRET"], sub=sub, roles=[role])
    return {"Authorization": f"Bearer {token}"}


async def join_and_sign_up(platform: Platform, client: httpx.AsyncClient) -> None:
    """Everyone in ``PEOPLE`` joins from HR and fills in their mentoring profile."""
    await publish_event(
        platform.bootstrap,
        platform.topic(topics.HR_EMPLOYEES),
        *(
            EmployeeJoined(
                employee_id=eid, display_name=name, email=f"{eid}@example.com", level=level, languages=["en"]
            )
            for eid, (name, _, level) in PEOPLE.items()
        ),
    )
    for eid, (_, roles, _) in PEOPLE.items():
        mentoring: dict = {"roles": roles}
        if "mentor" in roles:
            mentoring |= {"skills": [{"name": "python", "level": 5}], "mentor_capacity": 2}
        else:
            mentoring |= {"goals": [{"name": "python", "level": 3}]}
        url = f"{platform['profiles'].url}/v1/profiles/{eid}"

        async def patched(url: str = url, body: dict = mentoring, who: str = eid) -> bool:
            answer = await client.patch(url, json=body, headers=headers(platform, who))
            return answer.status_code == 200

        await eventually(patched, f"{eid}'s profile", 60)


def kinds(sink: SmtpSink, who: str) -> list[str]:
    return [str(m["X-Tandem-Notification-Kind"]) for m in sink.to(f"{who}@example.com")]


def calendar_parts(message: EmailMessage) -> list[tuple[str, icalendar.Calendar]]:
    return [
        (part.get_param("method") or "", icalendar.Calendar.from_ical(part.get_payload(decode=True)))
        for part in message.walk()
        if part.get_content_type() == "text/calendar"
    ]


async def test_an_invitation_reaches_both_and_a_poor_fit_ends_the_mentorship_with_a_new_proposal(
    world,
) -> None:
    platform, sink = world
    async with httpx.AsyncClient(timeout=30.0) as client:
        await join_and_sign_up(platform, client)
        matching = platform["matching"].url
        mentee = headers(platform, "rf-mentee")

        async def suggested() -> list[str]:
            answer = await client.get(f"{matching}/v1/mentees/rf-mentee/suggestions", headers=mentee)
            found = (
                [s["mentor_id"] for s in answer.json().get("suggestions", [])] if answer.is_success else []
            )
            return found if {"rf-mentor-a", "rf-mentor-b"} <= set(found) else []

        await eventually(suggested, "both mentors suggested", 60)
        asked = await client.post(
            f"{matching}/v1/mentorships",
            json={"mentee_id": "rf-mentee", "mentor_id": "rf-mentor-a"},
            headers=mentee,
        )
        assert asked.status_code == 201, asked.text
        mentorship_id = asked.json()["mentorship_id"]
        accepted = await client.post(
            f"{matching}/v1/mentorships/{mentorship_id}/accept", headers=headers(platform, "rf-mentor-a")
        )
        assert accepted.status_code == 200, accepted.text

        relationships = f"{platform['relationships'].url}/v1/mentorships/{mentorship_id}"

        async def opened() -> bool:
            return (await client.get(f"{relationships}/relationship", headers=mentee)).status_code == 200

        await eventually(opened, "the relationship opened from mentorship.accepted", 60)
        starts = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
        scheduled = await client.post(
            f"{relationships}/sessions",
            json={"starts_at": starts.isoformat(), "minutes": 45, "agenda": "goals"},
            headers=mentee,
        )
        assert scheduled.status_code == 201, scheduled.text

        async def invited() -> list[EmailMessage]:
            found = [
                m
                for who in ("rf-mentee", "rf-mentor-a")
                for m in sink.to(f"{who}@example.com")
                if str(m["X-Tandem-Notification-Kind"]) == "session_scheduled"
            ]
            return found if len(found) == 2 else []

        for invitation in await eventually(invited, "both invitations", 90):
            ((method, calendar),) = calendar_parts(invitation)
            (event,) = calendar.walk("VEVENT")
            assert method == "REQUEST"
            assert event.decoded("dtstart") == starts

        past = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
        logged = await client.post(
            f"{relationships}/sessions",
            json={"starts_at": past.isoformat(), "minutes": 30, "log": {"happened": True, "minutes": 30}},
            headers=mentee,
        )
        assert logged.status_code == 201, logged.text

        async def fit_asked() -> bool:
            answer = await client.get(
                f"{platform['relationships'].url}/v1/employees/rf-mentee/feedback-requests", headers=mentee
            )
            return any(r["kind"] == "fit" for r in answer.json().get("requests", []))

        await eventually(fit_asked, "the fit question after the first session", 60)
        declined = await client.post(
            f"{relationships}/feedback", json={"kind": "fit", "fit": "poor"}, headers=mentee
        )
        assert declined.status_code in (200, 201), declined.text

        async def ended_and_reproposed() -> list[dict]:
            answer = await client.get(f"{matching}/v1/mentorships?employee_id=rf-mentee", headers=mentee)
            items = answer.json()["items"]
            first = next(m for m in items if m["mentorship_id"] == mentorship_id)
            others = [m for m in items if m["mentorship_id"] != mentorship_id]
            return (
                others if first["status"] == "ended" and first.get("reason") == "not_a_fit" and others else []
            )

        (reproposal,) = await eventually(ended_and_reproposed, "ended not_a_fit and re-proposed", 90)
        assert reproposal["mentor_id"] == "rf-mentor-b", "never the mentor the mentee declined"
        assert reproposal["status"] == "proposed"

        await eventually(
            lambda: "mentorship_ended" in kinds(sink, "rf-mentor-a"), "the first mentor told it ended", 90
        )
        await eventually(
            lambda: "mentorship_proposed" in kinds(sink, "rf-mentor-b"), "the new mentor asked", 90
        )
        assert kinds(sink, "rf-mentor-b").count("mentorship_proposed") == 1


async def test_an_admins_nudge_of_a_program_pair_reaches_both_by_email_with_the_message(world) -> None:
    platform, sink = world
    matching = platform["matching"].url
    relationships = platform["relationships"].url
    admin = headers(platform, "rf-admin", "program_admin")
    async with httpx.AsyncClient(timeout=30.0) as client:
        await join_and_sign_up(platform, client)
        created = await client.post(f"{matching}/v1/programs", json={"name": "Nudges"}, headers=admin)
        assert created.status_code == 201, created.text
        program_id = created.json()["program_id"]
        enrolled = await client.post(
            f"{matching}/v1/programs/{program_id}/enrollments",
            json={"mentee_ids": ["rf-mentee"], "mentor_ids": ["rf-mentor-a"]},
            headers=admin,
        )
        assert enrolled.status_code == 200, enrolled.text

        async def matched() -> list[dict]:
            answer = await client.post(f"{matching}/v1/programs/{program_id}/rounds", headers=admin)
            return answer.json()["pairs"] if answer.status_code == 201 else []

        (pair,) = await eventually(matched, "the round matches the pair", 60)
        assert (pair["mentee_id"], pair["mentor_id"]) == ("rf-mentee", "rf-mentor-a")
        mentee = headers(platform, "rf-mentee")
        listed = await client.get(f"{matching}/v1/mentorships?employee_id=rf-mentee", headers=mentee)
        (proposal,) = [m for m in listed.json()["items"] if m["status"] == "proposed"]
        mentorship_id = proposal["mentorship_id"]
        # a round's proposal is the mentee's to accept
        accepted = await client.post(f"{matching}/v1/mentorships/{mentorship_id}/accept", headers=mentee)
        assert accepted.status_code == 200, accepted.text

        async def in_health() -> bool:
            answer = await client.get(f"{relationships}/v1/programs/{program_id}/health", headers=admin)
            pairs = answer.json()["pairs"] if answer.status_code == 200 else []
            return [p["mentorship_id"] for p in pairs] == [mentorship_id]

        await eventually(in_health, "the pair in the program's health", 60)
        nudge = f"{relationships}/v1/mentorships/{mentorship_id}/nudge"
        refused = await client.post(nudge, json={}, headers=mentee)
        assert refused.status_code == 403, refused.text
        sent = await client.post(nudge, json={"message": "Shall we meet this week?"}, headers=admin)
        assert sent.status_code == 202, sent.text

        def nudges() -> list[EmailMessage]:
            return [
                m
                for who in ("rf-mentee", "rf-mentor-a")
                for m in sink.to(f"{who}@example.com")
                if str(m["X-Tandem-Notification-Kind"]) == "relationship_nudge"
            ]

        await eventually(lambda: len(nudges()) == 2, "both parties nudged by email", 90)
        for mail in nudges():
            text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            assert "your program admin asks you" in text and "Shall we meet this week?" in text
        inbox = await client.get(
            f"{platform['notifications'].url}/v1/employees/rf-mentee/notifications", headers=mentee
        )
        assert "relationship_nudge" in [item["kind"] for item in inbox.json()["items"]]
