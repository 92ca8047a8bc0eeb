"""The relationship aggregate: one per accepted mentorship, everything after the match.

Pure data with the few rules that belong to it (who the parties are, which version is current).
The behaviour lives beside it: ``agreement``, ``sessions``, ``goals``, ``feedback``, ``health``,
``steps``; each function changes a relationship and returns the contract events it causes.
"""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from tandem_contracts.relationships import Cadence, FeedbackKind, FitAnswer, GoalsAchieved, Health

from tandem_relationships.domain.errors import Forbidden, NotFound

__all__ = [
    "CADENCE_DAYS",
    "AdminNote",
    "Agreement",
    "AgreementTerms",
    "AgreementVersion",
    "FeedbackAnswer",
    "FeedbackRequest",
    "Goal",
    "GoalDraft",
    "Party",
    "ProgramSettings",
    "ProgressUpdate",
    "Relationship",
    "Session",
    "SessionLog",
]

Party = Literal["mentor", "mentee"]
CADENCE_DAYS: dict[str, int] = {"weekly": 7, "biweekly": 14, "monthly": 30}
ERASED = "erased"  # stands in for a person's id on ratings that outlive their erasure


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=False)


class GoalDraft(_Model):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    current_level: Annotated[int, Field(ge=1, le=5)]
    target_level: Annotated[int, Field(ge=1, le=5)]


class AgreementTerms(_Model):
    goals: list[GoalDraft] = Field(default_factory=list, max_length=20)
    expectations: str | None = None
    cadence: Cadence = "biweekly"
    session_minutes: Annotated[int, Field(ge=15, le=180)] = 60
    end_date: date
    confidential: bool = False


class AgreementVersion(_Model):
    version: int
    terms: AgreementTerms
    drafted_by: str
    drafted_at: datetime
    signatures: dict[str, datetime] = Field(default_factory=dict)


class Agreement(_Model):
    versions: list[AgreementVersion] = Field(default_factory=list)

    @property
    def current(self) -> AgreementVersion | None:
        return self.versions[-1] if self.versions else None


class ProgressUpdate(_Model):
    at: datetime
    by: str
    progress: int
    note: str | None = None


class Goal(_Model):
    goal_id: str
    name: str
    current_level: int
    target_level: int
    progress: int = 0
    history: list[ProgressUpdate] = Field(default_factory=list)


class SessionLog(_Model):
    happened: bool
    minutes: int
    notes: str | None = None
    logged_by: str
    logged_at: datetime


class Session(_Model):
    session_id: str
    starts_at: datetime
    minutes: int
    agenda: str | None = None
    location: str | None = None
    status: Literal["scheduled", "cancelled", "logged"] = "scheduled"
    sequence: int = 0
    created_by: str
    updated_at: datetime
    log: SessionLog | None = None
    private_notes: dict[str, str] = Field(default_factory=dict, description="author id -> text")

    @property
    def held(self) -> bool:
        return self.log is not None and self.log.happened


class FeedbackAnswer(_Model):
    session_rating: int | None = None
    fit: FitAnswer | None = None
    satisfaction: int | None = None
    goal_levels: dict[str, int] = Field(default_factory=dict)
    goals_achieved: GoalsAchieved | None = None
    would_recommend: int | None = None
    comment: str | None = None


class FeedbackRequest(_Model):
    request_id: str
    kind: FeedbackKind
    respondent_id: str
    respondent_role: Party
    requested_at: datetime
    session_id: str | None = None
    answered_at: datetime | None = None
    answer: FeedbackAnswer | None = None
    withdrawn_at: datetime | None = Field(default=None, description="no longer answerable (the end came)")

    @property
    def is_open(self) -> bool:
        return self.answered_at is None and self.withdrawn_at is None


class AdminNote(_Model):
    """A program admin's note on a pair: read by that program's admins only, never the pair."""

    note_id: str
    author_id: str
    at: datetime
    text: str


class ProgramSettings(_Model):
    """What a program says about its relationships (from ``program.created``)."""

    program_id: str
    admin_ids: list[str] = Field(default_factory=list)
    mentorship_length_days: int | None = None
    auto_close_inactive_days: int | None = None


class Relationship(_Model):
    mentorship_id: str
    mentor_id: str
    mentee_id: str
    program_id: str | None = None
    status: Literal["open", "closed"] = "open"
    opened_at: datetime
    closed_at: datetime | None = None
    end_reason: str | None = None
    default_end_date: date
    agreement: Agreement = Field(default_factory=Agreement)
    goals: list[Goal] = Field(default_factory=list)
    sessions: list[Session] = Field(default_factory=list)
    feedback: list[FeedbackRequest] = Field(default_factory=list)
    health: Health = "healthy"
    health_reasons: list[str] = Field(default_factory=list)
    health_changes: int = 0
    steps_done: list[str] = Field(default_factory=list, description="ids of time-driven steps taken")
    decided_at: datetime | None = Field(
        default=None, description="the latest clock reading a stored write of it was decided at"
    )
    admin_notes: list[AdminNote] = Field(default_factory=list, description="program admins' only")

    @property
    def parties(self) -> tuple[str, str]:
        return self.mentor_id, self.mentee_id

    def role_of(self, employee_id: str) -> Party:
        """The party ``employee_id`` is; :class:`Forbidden` for anyone else."""
        if employee_id == self.mentor_id:
            return "mentor"
        if employee_id == self.mentee_id:
            return "mentee"
        raise Forbidden("only the mentor and the mentee act on their relationship", reason="not_a_party")

    def other_party(self, employee_id: str) -> str:
        return self.mentee_id if self.role_of(employee_id) == "mentor" else self.mentor_id

    def session(self, session_id: str) -> Session:
        for session in self.sessions:
            if session.session_id == session_id:
                return session
        raise NotFound(f"no session {session_id} in mentorship {self.mentorship_id}")

    def has_session(self, session_id: str) -> bool:
        return any(session.session_id == session_id for session in self.sessions)

    def goal(self, goal_id: str) -> Goal:
        for goal in self.goals:
            if goal.goal_id == goal_id:
                return goal
        raise NotFound(f"no goal {goal_id} in mentorship {self.mentorship_id}")

    def has_request(self, request_id: str) -> bool:
        return any(request.request_id == request_id for request in self.feedback)

    def open_requests(self, employee_id: str | None = None) -> list[FeedbackRequest]:
        return [
            request
            for request in self.feedback
            if request.is_open and (employee_id is None or request.respondent_id == employee_id)
        ]

    @property
    def held_sessions(self) -> list[Session]:
        return [session for session in self.sessions if session.held]

    @property
    def cadence(self) -> str:
        current = self.agreement.current
        return current.terms.cadence if current else "monthly"

    @property
    def agreement_signed(self) -> bool:
        current = self.agreement.current
        return current is not None and all(party in current.signatures for party in self.parties)

    @property
    def end_date(self) -> date:
        """The agreed end date, else the mentorship's default."""
        current = self.agreement.current
        return current.terms.end_date if current else self.default_end_date

    def moment(self, clock_now: datetime) -> datetime:
        """The time to decide at: the clock's, but never before a write already decided later.

        Replicas' clocks differ (by milliseconds, or a test's by days); a replica behind the one
        that wrote last would otherwise undo time-driven decisions, e.g. see an inactive pair as
        at risk again and announce both changes a second time.
        """
        return max(clock_now, self.decided_at) if self.decided_at else clock_now

    def last_activity_at(self) -> datetime:
        """When the pair last met (a held session), else when the relationship opened."""
        held = [session.starts_at for session in self.held_sessions]
        return max([self.opened_at, *held])
