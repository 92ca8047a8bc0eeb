"""Sessions: scheduled, rescheduled, cancelled, logged; each party's private notes.

A session in the past can only be logged (it happened or not); a scheduled one moves, is
cancelled or is logged once. Every change a calendar should know of raises ``sequence`` and
carries the session's invitation.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tandem_contracts import (
    EventData,
    RelationshipSessionCancelled,
    RelationshipSessionLogged,
    RelationshipSessionRescheduled,
    RelationshipSessionScheduled,
)

from tandem_relationships.domain.agreement import ensure_open
from tandem_relationships.domain.calendar import Attendee, render_invitation
from tandem_relationships.domain.errors import Invalid, Refused
from tandem_relationships.domain.events import about
from tandem_relationships.domain.feedback import after_session_held
from tandem_relationships.domain.model import Relationship, Session, SessionLog

__all__ = [
    "LogEntry",
    "SessionPlan",
    "cancel_session",
    "log_session",
    "reschedule_session",
    "schedule_session",
    "write_private_note",
]


@dataclass(frozen=True, slots=True)
class SessionPlan:
    starts_at: datetime
    minutes: int
    agenda: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class LogEntry:
    happened: bool
    minutes: int | None = None
    notes: str | None = None


def _scheduled(relationship: Relationship, session_id: str) -> Session:
    session = relationship.session(session_id)
    if session.status != "scheduled":
        raise Refused(f"session {session_id} is {session.status}", reason=f"session_{session.status}")
    return session


def _invitation_fields(
    relationship: Relationship, session: Session, attendees: Sequence[Attendee], *, cancel: bool = False
) -> dict[str, object]:
    return {
        **about(relationship),
        "session_id": session.session_id,
        "starts_at": session.starts_at,
        "minutes": session.minutes,
        "location": session.location,
        "sequence": session.sequence,
        "ics": render_invitation(relationship, session, attendees, method="CANCEL" if cancel else "REQUEST"),
    }


def schedule_session(
    relationship: Relationship,
    by: str,
    session_id: str,
    plan: SessionPlan,
    now: datetime,
    *,
    attendees: Sequence[Attendee] = (),
    log: LogEntry | None = None,
) -> list[EventData]:
    """A new session: ``scheduled`` when it lies ahead, or logged at once when it is past."""
    relationship.role_of(by)
    ensure_open(relationship)
    if relationship.has_session(session_id):
        raise Refused(f"session {session_id} exists", reason="session_exists")
    if plan.starts_at <= now and log is None:
        raise Invalid("a session in the past can only be logged (send `log`)", reason="session_in_past")
    if plan.starts_at > now and log is not None:
        raise Invalid("a session that has not started cannot be logged", reason="session_not_started")
    session = Session(
        session_id=session_id,
        starts_at=plan.starts_at,
        minutes=plan.minutes,
        agenda=plan.agenda,
        location=plan.location,
        created_by=by,
        updated_at=now,
    )
    relationship.sessions.append(session)
    if log is not None:
        return _record_log(relationship, session, by, log, now)
    return [RelationshipSessionScheduled(**_invitation_fields(relationship, session, attendees))]


def reschedule_session(
    relationship: Relationship,
    by: str,
    session_id: str,
    changes: dict[str, object],
    now: datetime,
    *,
    attendees: Sequence[Attendee] = (),
) -> list[EventData]:
    """Move or re-describe a scheduled session (``changes``: starts_at, minutes, agenda, location)."""
    relationship.role_of(by)
    ensure_open(relationship)
    session = _scheduled(relationship, session_id)
    starts_at = changes.get("starts_at", session.starts_at)
    if isinstance(starts_at, datetime) and starts_at <= now:
        raise Invalid("a session cannot be moved into the past", reason="session_in_past")
    updated = session.model_copy(update=changes)
    if updated == session:
        return []
    updated.sequence, updated.updated_at = session.sequence + 1, now
    relationship.sessions[relationship.sessions.index(session)] = updated
    return [RelationshipSessionRescheduled(**_invitation_fields(relationship, updated, attendees))]


def cancel_session(
    relationship: Relationship, by: str, session_id: str, now: datetime, *, attendees: Sequence[Attendee] = ()
) -> list[EventData]:
    relationship.role_of(by)
    session = _scheduled(relationship, session_id)
    session.status, session.sequence, session.updated_at = "cancelled", session.sequence + 1, now
    return [RelationshipSessionCancelled(**_invitation_fields(relationship, session, attendees, cancel=True))]


def log_session(
    relationship: Relationship, by: str, session_id: str, entry: LogEntry, now: datetime
) -> list[EventData]:
    """What happened in a scheduled session that has started; logged once."""
    relationship.role_of(by)
    ensure_open(relationship)
    session = relationship.session(session_id)
    if session.status == "logged":
        raise Refused(f"session {session_id} is already logged", reason="already_logged")
    if session.status == "cancelled":
        raise Refused(f"session {session_id} was cancelled", reason="session_cancelled")
    if session.starts_at > now:
        raise Invalid("a session that has not started cannot be logged", reason="session_not_started")
    return _record_log(relationship, session, by, entry, now)


def _record_log(
    relationship: Relationship, session: Session, by: str, entry: LogEntry, now: datetime
) -> list[EventData]:
    minutes = (entry.minutes if entry.minutes is not None else session.minutes) if entry.happened else 0
    session.status, session.updated_at = "logged", now
    session.log = SessionLog(
        happened=entry.happened, minutes=minutes, notes=entry.notes, logged_by=by, logged_at=now
    )
    events: list[EventData] = [
        RelationshipSessionLogged(
            **about(relationship),
            session_id=session.session_id,
            starts_at=session.starts_at,
            happened=entry.happened,
            minutes=minutes,
            logged_by=by,
            logged_at=now,
        )
    ]
    if entry.happened:
        events += after_session_held(relationship, session, now)
    return events


def write_private_note(relationship: Relationship, by: str, session_id: str, text: str | None) -> None:
    """``by``'s own note on a session, readable by nobody else; empty text removes it."""
    relationship.role_of(by)
    session = relationship.session(session_id)
    if text:
        session.private_notes[by] = text
    else:
        session.private_notes.pop(by, None)
