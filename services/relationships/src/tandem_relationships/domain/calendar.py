"""iCalendar (RFC 5545) for sessions: the invitation each party gets, and the feed of a person.

The invitation of a session keeps one ``UID`` for its whole life; ``SEQUENCE`` grows with every
reschedule, and a cancellation is ``METHOD:CANCEL`` with ``STATUS:CANCELLED`` for the same UID,
which is what calendar clients need to update or remove the entry they already have.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Literal

from icalendar import Calendar, Event, vCalAddress, vText

from tandem_relationships.domain.model import Relationship, Session

__all__ = ["Attendee", "render_feed", "render_invitation", "session_uid"]

PRODID = "-//Tandem//relationships//EN"
UID_DOMAIN = "tandem.relationships"


@dataclass(frozen=True, slots=True)
class Attendee:
    employee_id: str
    email: str | None = None
    name: str | None = None


def session_uid(session_id: str) -> str:
    return f"{session_id}@{UID_DOMAIN}"


def _calendar(method: str | None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    return calendar


def _address(attendee: Attendee) -> vCalAddress:
    address = vCalAddress(
        f"mailto:{attendee.email}" if attendee.email else f"urn:tandem:{attendee.employee_id}"
    )
    if attendee.name:
        address.params["cn"] = vText(attendee.name)
    return address


def _event(
    relationship: Relationship, session: Session, attendees: Sequence[Attendee], *, cancelled: bool
) -> Event:
    event = Event()
    event.add("uid", session_uid(session.session_id))
    event.add("sequence", session.sequence)
    event.add("dtstamp", session.updated_at.astimezone(UTC))
    event.add("dtstart", session.starts_at.astimezone(UTC))
    event.add("dtend", (session.starts_at + timedelta(minutes=session.minutes)).astimezone(UTC))
    event.add("summary", "Mentoring session")
    if session.agenda:
        event.add("description", session.agenda)
    if session.location:
        event.add("location", session.location)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("x-tandem-mentorship-id", relationship.mentorship_id)
    for attendee in attendees:
        if attendee.employee_id == relationship.mentor_id:
            event.add("organizer", _address(attendee))
        address = _address(attendee)
        address.params["role"] = vText("REQ-PARTICIPANT")
        address.params["partstat"] = vText("NEEDS-ACTION")
        event.add("attendee", address, encode=False)
    return event


def render_invitation(
    relationship: Relationship,
    session: Session,
    attendees: Sequence[Attendee] = (),
    *,
    method: Literal["REQUEST", "CANCEL"] = "REQUEST",
) -> str:
    """The ``text/calendar`` invitation of one session (``method=REQUEST`` or ``CANCEL``)."""
    calendar = _calendar(method)
    calendar.add_component(_event(relationship, session, attendees, cancelled=method == "CANCEL"))
    text: str = calendar.to_ical().decode()
    return text


def render_feed(owner: str, sessions: Iterable[tuple[Relationship, Session]]) -> str:
    """A person's sessions as a subscribable feed (no METHOD: it publishes, it does not invite).

    Cancelled sessions stay in the feed as ``STATUS:CANCELLED`` so clients drop the entry.
    """
    calendar = _calendar(None)
    calendar.add("x-wr-calname", f"Tandem sessions ({owner})")
    for relationship, session in sorted(sessions, key=lambda pair: pair[1].starts_at):
        calendar.add_component(_event(relationship, session, (), cancelled=session.status == "cancelled"))
    text: str = calendar.to_ical().decode()
    return text
