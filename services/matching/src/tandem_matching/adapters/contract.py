"""Domain objects to the public contracts (events and API bodies) and back."""

from __future__ import annotations

from tandem_contracts import (
    MentorshipAccepted,
    MentorshipDeclined,
    MentorshipEnded,
    MentorshipExpired,
    MentorshipProposed,
    MentorshipSnapshot,
    ProgramCreated,
    RoundCompleted,
)

from tandem_matching.domain.lifecycle import EndReason, State
from tandem_matching.domain.mentorship import Mentorship
from tandem_matching.domain.programs import Program, Round

__all__ = ["mentorship_event", "mentorship_of", "program_created", "round_completed", "snapshot_of"]

_EVENT_OF: dict[State, type[MentorshipSnapshot]] = {
    State.PROPOSED: MentorshipProposed,
    State.ACCEPTED: MentorshipAccepted,
    State.DECLINED: MentorshipDeclined,
    State.EXPIRED: MentorshipExpired,
    State.ENDED: MentorshipEnded,
}


def snapshot_of(mentorship: Mentorship) -> MentorshipSnapshot:
    m = mentorship
    return MentorshipSnapshot(
        mentorship_id=m.mentorship_id,
        version=m.version,
        mentor_id=m.mentor_id,
        mentee_id=m.mentee_id,
        program_id=m.program_id,
        round_id=m.round_id,
        status=m.status.value,
        origin=m.origin,
        score=m.score,
        breakdown=dict(m.breakdown),
        reasons=list(m.reasons),
        message=m.message,
        reason=m.reason.value if m.reason is not None else None,
        proposed_at=m.proposed_at,
        expires_at=m.expires_at,
        accepted_at=m.accepted_at,
        ended_at=m.ended_at,
        replaces_mentorship_id=m.replaces_mentorship_id,
    )


def mentorship_of(snapshot: MentorshipSnapshot) -> Mentorship:
    s = snapshot
    return Mentorship(
        mentorship_id=s.mentorship_id,
        mentor_id=s.mentor_id,
        mentee_id=s.mentee_id,
        status=State(s.status),
        origin=s.origin,
        program_id=s.program_id,
        round_id=s.round_id,
        score=s.score,
        breakdown=dict(s.breakdown),
        reasons=tuple(s.reasons),
        message=s.message,
        reason=EndReason(s.reason) if s.reason is not None else None,
        proposed_at=s.proposed_at,
        expires_at=s.expires_at,
        accepted_at=s.accepted_at,
        ended_at=s.ended_at,
        replaces_mentorship_id=s.replaces_mentorship_id,
        version=s.version,
    )


def mentorship_event(mentorship: Mentorship) -> MentorshipSnapshot:
    """The event a mentorship's new state publishes (``mentorship.<status>``)."""
    return _EVENT_OF[mentorship.status].model_validate(snapshot_of(mentorship).model_dump())


def program_created(program: Program) -> ProgramCreated:
    return ProgramCreated(
        program_id=program.program_id,
        name=program.name,
        objective=program.objective,
        admin_ids=list(program.admin_ids),
        created_at=program.created_at,
        mentorship_length_days=program.mentorship_length_days,
        auto_close_inactive_days=program.auto_close_inactive_days,
    )


def round_completed(program: Program, done: Round) -> RoundCompleted:
    report = done.report
    return RoundCompleted(
        program_id=program.program_id,
        round_id=done.round_id,
        program_name=program.name,
        admin_ids=list(program.admin_ids),
        matched=report.matched,
        unmatched=len(report.unmatched),
        unmatched_reasons=report.unmatched_reasons,
        total_score=report.total_score,
        mean_score=report.mean_score,
        min_score=report.min_score,
        mentor_load=report.mentor_load,
        completed_at=done.completed_at,
    )
