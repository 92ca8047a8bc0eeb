"""``tandem.relationships`` (key: ``mentorship_id``): what happens in a mentorship after the match.

Events carry ids, times and ratings; free text a person wrote (comments, private notes) never
leaves the relationships service, except a session's shared agenda inside its invitation.
"""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BeforeValidator, Field

from tandem_contracts.base import EmployeeId, EventData, json_int

__all__ = [
    "Cadence",
    "FeedbackKind",
    "FitAnswer",
    "GoalTarget",
    "GoalsAchieved",
    "Health",
    "RelationshipAgreementSigned",
    "RelationshipAutoClosed",
    "RelationshipEvent",
    "RelationshipFeedbackRequested",
    "RelationshipFeedbackSubmitted",
    "RelationshipFitDeclined",
    "RelationshipHealthChanged",
    "RelationshipNudged",
    "RelationshipOutcomeRecorded",
    "RelationshipReminderDue",
    "RelationshipSessionCancelled",
    "RelationshipSessionLogged",
    "RelationshipSessionRescheduled",
    "RelationshipSessionScheduled",
]

Cadence = Literal["weekly", "biweekly", "monthly"]
FeedbackKind = Literal["session", "fit", "pulse", "final"]
FitAnswer = Literal["good", "unsure", "poor"]
GoalsAchieved = Literal["yes", "partly", "no"]
Health = Literal["healthy", "at_risk", "inactive"]
_Id = Annotated[str, Field(min_length=1, max_length=256)]
_Level = Annotated[int, Field(ge=1, le=5), BeforeValidator(json_int)]
_Minutes = Annotated[int, Field(ge=1, le=1440), BeforeValidator(json_int)]


class RelationshipEvent(EventData):
    """What every relationship event says: which mentorship, between whom."""

    mentorship_id: _Id
    mentor_id: EmployeeId
    mentee_id: EmployeeId
    program_id: str | None = None


class GoalTarget(EventData):
    goal_id: _Id
    name: Annotated[str, Field(min_length=1, max_length=64)]
    current_level: _Level
    target_level: _Level


class RelationshipAgreementSigned(RelationshipEvent):
    """``relationship.agreement_signed``: both parties signed this version of the agreement."""

    agreement_version: Annotated[int, Field(ge=1), BeforeValidator(json_int)]
    cadence: Cadence
    session_minutes: _Minutes
    end_date: date
    confidential: bool = False
    goals: list[GoalTarget] = Field(default_factory=list, max_length=20)
    signed_at: AwareDatetime


class _SessionEvent(RelationshipEvent):
    session_id: _Id
    starts_at: AwareDatetime
    minutes: _Minutes
    location: Annotated[str, Field(max_length=512)] | None = None
    sequence: Annotated[int, Field(ge=0), BeforeValidator(json_int)] = 0
    ics: Annotated[str, Field(max_length=20_000)] | None = Field(
        default=None,
        description="the RFC 5545 invitation (METHOD:REQUEST, or CANCEL) to attach to the email",
    )


class RelationshipSessionScheduled(_SessionEvent):
    """``relationship.session_scheduled``."""


class RelationshipSessionRescheduled(_SessionEvent):
    """``relationship.session_rescheduled``: a new time or place; ``sequence`` was raised."""


class RelationshipSessionCancelled(_SessionEvent):
    """``relationship.session_cancelled``: ``ics`` is a METHOD:CANCEL for the same UID."""


class RelationshipSessionLogged(RelationshipEvent):
    """``relationship.session_logged``: what happened (the shared notes stay in the service)."""

    session_id: _Id
    starts_at: AwareDatetime
    happened: bool
    minutes: Annotated[int, Field(ge=0, le=1440), BeforeValidator(json_int)]
    logged_by: EmployeeId
    logged_at: AwareDatetime


class RelationshipFeedbackRequested(RelationshipEvent):
    """``relationship.feedback_requested``: ``respondent_id`` is asked to answer ``request_id``."""

    request_id: _Id
    kind: FeedbackKind
    respondent_id: EmployeeId
    session_id: str | None = None
    requested_at: AwareDatetime


class RelationshipFeedbackSubmitted(RelationshipEvent):
    """``relationship.feedback_submitted``: the ratings of one answer; never its comment."""

    request_id: _Id
    kind: FeedbackKind
    respondent_role: Literal["mentor", "mentee"]
    session_rating: Annotated[int, Field(ge=1, le=4)] | None = None
    fit: FitAnswer | None = None
    satisfaction: Annotated[int, Field(ge=1, le=5)] | None = None
    goal_levels: dict[str, _Level] = Field(default_factory=dict, description="goal id -> level now")
    goals_achieved: GoalsAchieved | None = None
    would_recommend: Annotated[int, Field(ge=0, le=10)] | None = None
    submitted_at: AwareDatetime


class RelationshipHealthChanged(RelationshipEvent):
    """``relationship.health_changed``: nudge ``nudge_ids``; alert ``alert_admin_ids``."""

    health: Health
    previous: Health
    reasons: list[str] = Field(default_factory=list)
    nudge_ids: list[EmployeeId] = Field(default_factory=list)
    alert_admin_ids: list[str] = Field(default_factory=list)
    changed_at: AwareDatetime


class RelationshipFitDeclined(RelationshipEvent):
    """``relationship.fit_declined``: the mentee said the fit is poor; matching ends the
    mentorship (reason ``not_a_fit``) and proposes another mentor."""

    declined_by: EmployeeId
    request_id: _Id
    declined_at: AwareDatetime


class RelationshipAutoClosed(RelationshipEvent):
    """``relationship.auto_closed``: inactive for the program's ``auto_close_inactive_days``;
    matching ends the mentorship (reason ``inactive``)."""

    inactive_days: Annotated[int, Field(ge=1), BeforeValidator(json_int)]
    last_activity_at: AwareDatetime
    closed_at: AwareDatetime


class RelationshipReminderDue(RelationshipEvent):
    """``relationship.reminder_due``: remind ``recipient_ids`` (an unsigned agreement, or a
    session starting within 24 h; then the session's fields are set)."""

    reminder_id: _Id
    kind: Literal["agreement_unsigned", "session_upcoming"]
    recipient_ids: list[EmployeeId] = Field(default_factory=list, max_length=2)
    session_id: str | None = None
    starts_at: datetime | None = None
    due_at: AwareDatetime


class RelationshipOutcomeRecorded(RelationshipEvent):
    """``relationship.outcome_recorded``: the mentee's final assessment (the outcome matching
    learns from), with the mentor's recommendation when the mentor answered first."""

    goals_achieved: GoalsAchieved
    would_recommend: Annotated[int, Field(ge=0, le=10)]
    final_satisfaction: Annotated[int, Field(ge=1, le=5)] | None = Field(
        default=None, description="the mentee's latest pulse satisfaction, if any"
    )
    level_gains: dict[str, int] = Field(
        default_factory=dict, description="goal name -> level now minus the level agreed at the start"
    )
    mentor_would_recommend: Annotated[int, Field(ge=0, le=10)] | None = None
    sessions_held: Annotated[int, Field(ge=0)] = 0
    end_reason: str | None = None
    recorded_at: AwareDatetime


class RelationshipNudged(RelationshipEvent):
    """``relationship.nudged``: a program admin nudges the pair (``recipient_ids``: both) to
    meet, with an optional message of the admin's."""

    nudge_id: _Id
    recipient_ids: list[EmployeeId] = Field(default_factory=list, max_length=2)
    sent_by: Annotated[str, Field(min_length=1, max_length=256)]
    message: Annotated[str, Field(max_length=500)] | None = None
    nudged_at: AwareDatetime
