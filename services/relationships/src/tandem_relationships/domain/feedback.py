"""Feedback: what the service asks for, when, and what an answer must hold.

- ``session``: after each held session, both rate it 1-4 (comment optional);
- ``fit``: after the first held session, ``good`` | ``unsure`` | ``poor``; ``unsure`` asks that
  person again after the next held session; a mentee's ``poor`` is ``fit_declined``;
- ``pulse``: 30 days after acceptance, then every 60 (opened by the step planner);
- ``final``: when the mentorship ends; the mentee's answer is the outcome.

Nobody answers what was not asked, and nobody answers one request twice. Comments stay here:
the events carry ratings only.
"""

from datetime import datetime

from tandem_contracts import (
    EventData,
    RelationshipFeedbackRequested,
    RelationshipFeedbackSubmitted,
    RelationshipFitDeclined,
    RelationshipOutcomeRecorded,
)
from tandem_contracts.relationships import FeedbackKind

from tandem_relationships.domain.errors import Forbidden, Invalid, Refused
from tandem_relationships.domain.events import about
from tandem_relationships.domain.model import (
    FeedbackAnswer,
    FeedbackRequest,
    Party,
    Relationship,
    Session,
)

__all__ = ["after_session_held", "answer_feedback", "open_final", "open_pulse", "request_feedback"]

_REQUIRED: dict[str, tuple[str, ...]] = {
    "session": ("session_rating",),
    "fit": ("fit",),
    "pulse": ("satisfaction",),
    "final": ("goals_achieved", "would_recommend"),
}


def request_feedback(
    relationship: Relationship,
    request_id: str,
    kind: FeedbackKind,
    respondent_id: str,
    now: datetime,
    *,
    session_id: str | None = None,
) -> list[EventData]:
    """Open one request (once: a request id that exists is not opened again)."""
    if relationship.has_request(request_id):
        return []
    role: Party = relationship.role_of(respondent_id)
    relationship.feedback.append(
        FeedbackRequest(
            request_id=request_id,
            kind=kind,
            respondent_id=respondent_id,
            respondent_role=role,
            requested_at=now,
            session_id=session_id,
        )
    )
    return [
        RelationshipFeedbackRequested(
            **about(relationship),
            request_id=request_id,
            kind=kind,
            respondent_id=respondent_id,
            session_id=session_id,
            requested_at=now,
        )
    ]


def _of(relationship: Relationship, kind: str, respondent_id: str) -> list[FeedbackRequest]:
    return [r for r in relationship.feedback if r.kind == kind and r.respondent_id == respondent_id]


def after_session_held(relationship: Relationship, session: Session, now: datetime) -> list[EventData]:
    """Session feedback from both; fit after the first held session, again for an ``unsure``."""
    events: list[EventData] = []
    first = len(relationship.held_sessions) == 1
    for party in relationship.parties:
        role = relationship.role_of(party)
        events += request_feedback(
            relationship,
            f"session:{session.session_id}:{role}",
            "session",
            party,
            now,
            session_id=session.session_id,
        )
        asked = _of(relationship, "fit", party)
        unsure = bool(asked) and asked[-1].answer is not None and asked[-1].answer.fit == "unsure"
        if (first and not asked) or unsure:
            events += request_feedback(
                relationship, f"fit:{len(asked) + 1}:{role}", "fit", party, now, session_id=session.session_id
            )
    return events


def open_pulse(relationship: Relationship, number: int, now: datetime) -> list[EventData]:
    events: list[EventData] = []
    for party in relationship.parties:
        role = relationship.role_of(party)
        events += request_feedback(relationship, f"pulse:{number}:{role}", "pulse", party, now)
    return events


def open_final(relationship: Relationship, now: datetime) -> list[EventData]:
    """The end: what was still open is withdrawn, and both are asked for the final assessment."""
    for request in relationship.open_requests():
        request.withdrawn_at = now
    events: list[EventData] = []
    for party in relationship.parties:
        role = relationship.role_of(party)
        events += request_feedback(relationship, f"final:{role}", "final", party, now)
    return events


def _pick(relationship: Relationship, by: str, kind: FeedbackKind, request_id: str | None) -> FeedbackRequest:
    if request_id is not None:
        found = [r for r in relationship.feedback if r.request_id == request_id]
        if not found:
            raise Refused(f"nobody asked for feedback {request_id}", reason="not_requested")
        request = found[0]
        if request.respondent_id != by:
            raise Forbidden("this request is someone else's", reason="not_your_request")
        if request.kind != kind:
            raise Invalid(f"request {request_id} asks for {request.kind} feedback", reason="wrong_kind")
        if request.withdrawn_at is not None:
            raise Refused(f"request {request_id} was withdrawn when the mentorship ended", reason="withdrawn")
        if not request.is_open:
            raise Refused(f"request {request_id} is already answered", reason="already_answered")
        return request
    mine = _of(relationship, kind, by)
    open_ones = [r for r in mine if r.is_open]
    if open_ones:
        return open_ones[0]
    if mine:
        raise Refused(f"your {kind} feedback is already answered", reason="already_answered")
    raise Refused(f"nobody asked you for {kind} feedback", reason="not_requested")


def _check(relationship: Relationship, kind: str, answer: FeedbackAnswer) -> None:
    missing = [name for name in _REQUIRED[kind] if getattr(answer, name) is None]
    if missing:
        raise Invalid(f"{kind} feedback needs {', '.join(missing)}", reason="incomplete_answer")
    if kind == "final":
        known = {goal.goal_id for goal in relationship.goals}
        unknown = sorted(set(answer.goal_levels) - known)
        if unknown:
            raise Invalid(f"no such goals in the agreement: {', '.join(unknown)}", reason="unknown_goal")


def answer_feedback(
    relationship: Relationship,
    by: str,
    kind: FeedbackKind,
    answer: FeedbackAnswer,
    now: datetime,
    *,
    request_id: str | None = None,
) -> tuple[FeedbackRequest, list[EventData]]:
    """Record ``by``'s answer to an open request; the request and the events (ratings only)."""
    role = relationship.role_of(by)
    if relationship.status != "open" and kind != "final":
        raise Refused("the mentorship has ended: only final feedback is open", reason="relationship_closed")
    request = _pick(relationship, by, kind, request_id)
    _check(relationship, kind, answer)
    request.answer, request.answered_at = answer, now
    events: list[EventData] = [
        RelationshipFeedbackSubmitted(
            **about(relationship),
            request_id=request.request_id,
            kind=kind,
            respondent_role=role,
            **answer.model_dump(exclude={"comment"}),
            submitted_at=now,
        )
    ]
    if kind == "fit" and answer.fit == "poor" and role == "mentee":
        events.append(
            RelationshipFitDeclined(
                **about(relationship), declined_by=by, request_id=request.request_id, declined_at=now
            )
        )
    if kind == "final" and role == "mentee":
        events.append(_outcome(relationship, answer, now))
    return request, events


def _outcome(relationship: Relationship, answer: FeedbackAnswer, now: datetime) -> EventData:
    assert answer.goals_achieved is not None  # _check required both
    assert answer.would_recommend is not None
    pulses = [r for r in _of(relationship, "pulse", relationship.mentee_id) if r.answer is not None]
    mentor_final = [r for r in _of(relationship, "final", relationship.mentor_id) if r.answer is not None]
    return RelationshipOutcomeRecorded(
        **about(relationship),
        goals_achieved=answer.goals_achieved,
        would_recommend=answer.would_recommend,
        final_satisfaction=pulses[-1].answer.satisfaction if pulses and pulses[-1].answer else None,
        level_gains={
            goal.name: answer.goal_levels[goal.goal_id] - goal.current_level
            for goal in relationship.goals
            if goal.goal_id in answer.goal_levels
        },
        mentor_would_recommend=(
            mentor_final[0].answer.would_recommend if mentor_final and mentor_final[0].answer else None
        ),
        sessions_held=len(relationship.held_sessions),
        end_reason=relationship.end_reason,
        recorded_at=now,
    )
