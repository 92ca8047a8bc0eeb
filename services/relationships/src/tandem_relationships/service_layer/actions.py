"""Use cases of the two parties: agreement, sessions, private notes, goals, feedback.

Each reads the relationship, lets the domain decide, and writes state and events in one
version-checked update (``change``); a refusal leaves everything stored as it was.
"""

from datetime import datetime
from typing import Any, TypeVar

from tandem_contracts import EventData
from tandem_contracts.relationships import FeedbackKind

from tandem_relationships.domain import agreement, feedback, goals, sessions
from tandem_relationships.domain.errors import NotFound
from tandem_relationships.domain.model import (
    Agreement,
    AgreementTerms,
    FeedbackAnswer,
    FeedbackRequest,
    Goal,
    Relationship,
    Session,
)
from tandem_relationships.domain.sessions import LogEntry, SessionPlan
from tandem_relationships.service_layer.changes import Decision, change
from tandem_relationships.service_layer.ports import UnitOfWork
from tandem_relationships.service_layer.sessions import attendees_of

T = TypeVar("T")
__all__ = [
    "cancel_session",
    "draft_agreement",
    "give_feedback",
    "log_session",
    "reschedule_session",
    "schedule_session",
    "sign_agreement",
    "update_goal",
    "write_private_note",
]


async def _changed(uow: UnitOfWork, mentorship_id: str, decide: Decision[T]) -> T:
    result = await change(uow, mentorship_id, decide)
    if result is None:
        raise NotFound(f"no relationship for mentorship {mentorship_id}")
    return result


async def _relationship(uow: UnitOfWork, mentorship_id: str) -> Relationship:
    loaded = await uow.relationships.get(mentorship_id)
    if loaded is None:
        raise NotFound(f"no relationship for mentorship {mentorship_id}")
    return loaded.relationship


async def draft_agreement(uow: UnitOfWork, mentorship_id: str, by: str, fields: dict[str, Any]) -> Agreement:
    """``fields`` are the agreement's terms; without ``end_date`` the mentorship's default."""

    def decide(relationship: Relationship, now: datetime) -> tuple[Agreement, list[EventData]]:
        terms = AgreementTerms.model_validate({"end_date": relationship.default_end_date, **fields})
        return relationship.agreement, agreement.draft_agreement(relationship, by, terms, now)

    return await _changed(uow, mentorship_id, decide)


async def sign_agreement(uow: UnitOfWork, mentorship_id: str, by: str, version: int | None) -> Agreement:
    def decide(relationship: Relationship, now: datetime) -> tuple[Agreement, list[EventData]]:
        return relationship.agreement, agreement.sign_agreement(relationship, by, now, version=version)

    return await _changed(uow, mentorship_id, decide)


async def schedule_session(
    uow: UnitOfWork, mentorship_id: str, by: str, plan: SessionPlan, log: LogEntry | None
) -> Session:
    attendees = await attendees_of(uow, await _relationship(uow, mentorship_id))
    session_id = uow.new_id()

    def decide(relationship: Relationship, now: datetime) -> tuple[Session, list[EventData]]:
        events = sessions.schedule_session(
            relationship, by, session_id, plan, now, attendees=attendees, log=log
        )
        return relationship.session(session_id), events

    return await _changed(uow, mentorship_id, decide)


async def reschedule_session(
    uow: UnitOfWork, mentorship_id: str, by: str, session_id: str, changes: dict[str, object]
) -> Session:
    attendees = await attendees_of(uow, await _relationship(uow, mentorship_id))

    def decide(relationship: Relationship, now: datetime) -> tuple[Session, list[EventData]]:
        events = sessions.reschedule_session(relationship, by, session_id, changes, now, attendees=attendees)
        return relationship.session(session_id), events

    return await _changed(uow, mentorship_id, decide)


async def cancel_session(uow: UnitOfWork, mentorship_id: str, by: str, session_id: str) -> Session:
    attendees = await attendees_of(uow, await _relationship(uow, mentorship_id))

    def decide(relationship: Relationship, now: datetime) -> tuple[Session, list[EventData]]:
        events = sessions.cancel_session(relationship, by, session_id, now, attendees=attendees)
        return relationship.session(session_id), events

    return await _changed(uow, mentorship_id, decide)


async def log_session(
    uow: UnitOfWork, mentorship_id: str, by: str, session_id: str, entry: LogEntry
) -> Session:
    def decide(relationship: Relationship, now: datetime) -> tuple[Session, list[EventData]]:
        events = sessions.log_session(relationship, by, session_id, entry, now)
        return relationship.session(session_id), events

    return await _changed(uow, mentorship_id, decide)


async def write_private_note(
    uow: UnitOfWork, mentorship_id: str, by: str, session_id: str, text: str | None
) -> Session:
    def decide(relationship: Relationship, now: datetime) -> tuple[Session, list[EventData]]:
        sessions.write_private_note(relationship, by, session_id, text)
        return relationship.session(session_id), []

    return await _changed(uow, mentorship_id, decide)


async def update_goal(
    uow: UnitOfWork, mentorship_id: str, by: str, goal_id: str, progress: int, note: str | None
) -> Goal:
    def decide(relationship: Relationship, now: datetime) -> tuple[Goal, list[EventData]]:
        return goals.update_progress(relationship, by, goal_id, progress, note, now), []

    return await _changed(uow, mentorship_id, decide)


async def give_feedback(
    uow: UnitOfWork,
    mentorship_id: str,
    by: str,
    kind: FeedbackKind,
    answer: FeedbackAnswer,
    request_id: str | None,
) -> FeedbackRequest:
    def decide(relationship: Relationship, now: datetime) -> tuple[FeedbackRequest, list[EventData]]:
        return feedback.answer_feedback(relationship, by, kind, answer, now, request_id=request_id)

    return await _changed(uow, mentorship_id, decide)
