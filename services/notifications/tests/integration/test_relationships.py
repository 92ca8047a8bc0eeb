"""``tandem.relationships`` on the real broker and store: invitations and feedback requests reach
the real SMTP sink, and the attached ``.ics`` parses back with the ``icalendar`` library."""

import asyncio
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from icalendar import Calendar, Event  # a test-only import: relationships depends on it
from tandem_chassis.testing import eventually
from tandem_contracts import (
    ProfileRegistered,
    RelationshipFeedbackRequested,
    RelationshipNudged,
    RelationshipSessionCancelled,
    RelationshipSessionScheduled,
    topics,
)

pytestmark = pytest.mark.integration

PEOPLE = {
    "mentor-r": ("Grace Hopper", "grace.r@example.com"),
    "mentee-r": ("Alan Turing", "alan.r@example.com"),
}
PAIR = {"mentorship_id": "m-r", "mentor_id": "mentor-r", "mentee_id": "mentee-r"}
STARTS = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
UID = "session-s-r@tandem.example"


def invitation(method: str, sequence: int) -> str:
    calendar = Calendar()
    calendar.add("prodid", "-//Tandem tests//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", UID)
    event.add("sequence", sequence)
    event.add("dtstamp", STARTS - timedelta(days=2))
    event.add("dtstart", STARTS)
    event.add("dtend", STARTS + timedelta(minutes=45))
    event.add("summary", "Mentoring: Grace Hopper and Alan Turing")
    if method == "CANCEL":
        event.add("status", "CANCELLED")
    calendar.add_component(event)
    return calendar.to_ical().decode()


def session(model, method: str, sequence: int):  # type: ignore[no-untyped-def]
    return model(
        **PAIR,
        session_id="s-r",
        starts_at=STARTS,
        minutes=45,
        sequence=sequence,
        location="Room 4",
        ics=invitation(method, sequence),
    )


def calendars(message: EmailMessage) -> list[tuple[str | None, Calendar]]:
    """The ``text/calendar`` parts of ``message``: their MIME ``method`` and the parsed ics."""
    return [
        (part.get_param("method"), Calendar.from_ical(part.get_content()))  # type: ignore[misc]
        for part in message.iter_attachments()
        if part.get_content_type() == "text/calendar"
    ]


async def register_the_pair(running) -> None:  # type: ignore[no-untyped-def]
    """Both parties' profiles, recorded before any relationship event is emitted: the two topics
    are consumed concurrently, and an email names the counterpart only once their profile is in."""
    await running.emit(
        topics.PROFILES,
        *(
            ProfileRegistered(employee_id=i, version=1, status="active", email=a, display_name=n)  # type: ignore[arg-type]
            for i, (n, a) in PEOPLE.items()
        ),
    )

    async def recorded() -> bool:
        return len(await running.uow.recipients.get_many(PEOPLE)) == len(PEOPLE)

    await eventually(recorded, "both parties' profiles recorded", timeout_s=30)


def by_kind(sink, address: str, kind: str) -> list[EmailMessage]:  # type: ignore[no-untyped-def]
    return [m for m in sink.to(address) if m["X-Tandem-Notification-Kind"] == kind]


async def test_session_invitations_and_cancellations_reach_both_parties_as_parseable_icalendar(
    start_service, smtp_sink
):
    running = await start_service()
    await register_the_pair(running)
    scheduled = await running.emit(topics.RELATIONSHIPS, session(RelationshipSessionScheduled, "REQUEST", 0))

    async def invited() -> bool:
        return all(by_kind(smtp_sink, a, "session_scheduled") for _, a in PEOPLE.values())

    await eventually(invited, "both parties invited", timeout_s=60)
    for _, address in PEOPLE.values():
        [mail] = by_kind(smtp_sink, address, "session_scheduled")
        assert mail.get_content_type() == "multipart/mixed"
        [(method, calendar)] = calendars(mail)
        assert method == "REQUEST"
        assert calendar["METHOD"] == "REQUEST"
        [vevent] = calendar.walk("VEVENT")
        assert str(vevent["UID"]) == UID and vevent.decoded("DTSTART") == STARTS
        counterpart = next(n for n, a in PEOPLE.values() if a != address)
        assert str(mail["Subject"]) == f"Session with {counterpart} scheduled"
        assert "Room 4" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    await running.emit(topics.RELATIONSHIPS, session(RelationshipSessionCancelled, "CANCEL", 1))
    request = RelationshipFeedbackRequested(
        **PAIR, request_id="fr-r", kind="session", respondent_id="mentee-r", requested_at=STARTS
    )
    await running.emit(topics.RELATIONSHIPS, request)

    async def cancelled_and_asked() -> bool:
        return bool(
            all(by_kind(smtp_sink, a, "session_cancelled") for _, a in PEOPLE.values())
            and by_kind(smtp_sink, "alan.r@example.com", "feedback_requested")
        )

    await eventually(cancelled_and_asked, "cancellations and the feedback request sent", timeout_s=60)
    for _, address in PEOPLE.values():
        [mail] = by_kind(smtp_sink, address, "session_cancelled")
        [(method, calendar)] = calendars(mail)
        assert method == "CANCEL" and calendar["METHOD"] == "CANCEL"
        [vevent] = calendar.walk("VEVENT")
        assert str(vevent["UID"]) == UID and int(vevent["SEQUENCE"]) == 1
    [asked] = by_kind(smtp_sink, "alan.r@example.com", "feedback_requested")
    assert "fr-r" in asked.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert not calendars(asked)
    assert not by_kind(smtp_sink, "grace.r@example.com", "feedback_requested"), "only the respondent"

    # Kafka redelivers the invitation: nothing is sent twice, and the inboxes have each message once.
    await running.publish(topics.RELATIONSHIPS, *scheduled)
    await asyncio.sleep(2.0)
    for _, address in PEOPLE.values():
        assert len(by_kind(smtp_sink, address, "session_scheduled")) == 1
    inbox = await running.uow.deliveries.inbox("mentee-r", limit=50, cursor=None)
    assert sorted(d.kind for d in inbox.items if d.kind.startswith(("session", "feedback"))) == [
        "feedback_requested",
        "session_cancelled",
        "session_scheduled",
    ]


async def test_an_admins_nudge_emails_both_parties_with_the_message(start_service, smtp_sink):
    running = await start_service()
    await register_the_pair(running)
    nudge = RelationshipNudged(
        **PAIR,
        program_id="p-r",
        nudge_id="n-r",
        recipient_ids=["mentor-r", "mentee-r"],
        sent_by="admin-r",
        message="Shall we see a session this week?",
        nudged_at=STARTS,
    )
    await running.emit(topics.RELATIONSHIPS, nudge)

    async def nudged() -> bool:
        return all(by_kind(smtp_sink, a, "relationship_nudge") for _, a in PEOPLE.values())

    await eventually(nudged, "both parties nudged", timeout_s=60)
    for name, address in PEOPLE.values():
        [mail] = by_kind(smtp_sink, address, "relationship_nudge")
        counterpart = next(n for n, a in PEOPLE.values() if a != address)
        assert str(mail["Subject"]) == f"Time to meet {counterpart} again"
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert f"Hi {name}" in text and "Shall we see a session this week?" in text
    inbox = await running.uow.deliveries.inbox("mentee-r", limit=50, cursor=None)
    assert [d.kind for d in inbox.items if d.kind == "relationship_nudge"] == ["relationship_nudge"]
