"""HTTP bodies and views of the relationships API (what clients send and get)."""

from datetime import date
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from tandem_contracts.relationships import Cadence, FeedbackKind, FitAnswer, GoalsAchieved, Health

from tandem_relationships.domain.model import AdminNote, FeedbackRequest, GoalDraft, Relationship

__all__ = [
    "AgreementIn",
    "CalendarFeedView",
    "FeedbackIn",
    "FeedbackRequestPage",
    "GoalPatch",
    "LogIn",
    "OpenRequestView",
    "PrivateNoteIn",
    "RelationshipPage",
    "RelationshipRow",
    "RelationshipView",
    "SessionIn",
    "SessionPatch",
    "SignIn",
]

_Text = Annotated[str, Field(max_length=4000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgreementIn(_In):
    goals: list[GoalDraft] = Field(default_factory=list, max_length=20)
    expectations: _Text | None = None
    cadence: Cadence = "biweekly"
    session_minutes: Annotated[int, Field(ge=15, le=180)] = 60
    end_date: date | None = Field(default=None, description="default: the program's length, else 180 days")
    confidential: bool = False


class SignIn(_In):
    version: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="the version being signed; 409 if it is no longer the current one"
    )


class LogIn(_In):
    happened: bool
    minutes: Annotated[int, Field(ge=0, le=480)] | None = None
    notes: _Text | None = Field(default=None, description="shared with the other party")


class SessionIn(_In):
    starts_at: AwareDatetime
    minutes: Annotated[int, Field(ge=5, le=480)] = 60
    agenda: _Text | None = None
    location: Annotated[str, Field(max_length=512)] | None = Field(
        default=None, description="a place or a video link"
    )
    log: LogIn | None = Field(default=None, description="log a past session that was never scheduled")


class SessionPatch(_In):
    starts_at: AwareDatetime | None = None
    minutes: Annotated[int, Field(ge=5, le=480)] | None = None
    agenda: _Text | None = None
    location: Annotated[str, Field(max_length=512)] | None = None

    @model_validator(mode="after")
    def _something_changes(self) -> "SessionPatch":
        if not self.model_fields_set:
            raise ValueError("send at least one of starts_at, minutes, agenda, location")
        if any(
            getattr(self, name) is None for name in ("starts_at", "minutes") if name in self.model_fields_set
        ):
            raise ValueError("starts_at and minutes cannot be null (agenda and location can: null clears)")
        return self


class PrivateNoteIn(_In):
    text: Annotated[str, Field(max_length=10_000)] | None = None


class GoalPatch(_In):
    progress: Annotated[int, Field(ge=0, le=100)]
    note: Annotated[str, Field(max_length=2000)] | None = None


class FeedbackIn(_In):
    kind: FeedbackKind
    request_id: Annotated[str, Field(min_length=1, max_length=256)] | None = Field(
        default=None, description="default: your oldest open request of this kind"
    )
    session_rating: Annotated[int, Field(ge=1, le=4)] | None = None
    fit: FitAnswer | None = None
    satisfaction: Annotated[int, Field(ge=1, le=5)] | None = None
    goal_levels: dict[Annotated[str, Field(max_length=256)], Annotated[int, Field(ge=1, le=5)]] = Field(
        default_factory=dict, max_length=20, description="final: goal id -> level now"
    )
    goals_achieved: GoalsAchieved | None = None
    would_recommend: Annotated[int, Field(ge=0, le=10)] | None = None
    comment: _Text | None = Field(default=None, description="read by program admins only")


class RelationshipView(Relationship):
    open_feedback_requests: list[FeedbackRequest] = Field(default_factory=list)


class RelationshipRow(BaseModel):
    mentorship_id: str
    mentor_id: str
    mentee_id: str
    program_id: str | None
    status: str
    health: Health
    health_reasons: list[str]
    agreement_signed: bool
    sessions_held: int
    last_session_at: AwareDatetime | None
    open_requests: int
    fit: dict[str, FitAnswer]
    mean_session_rating: float | None


class RelationshipPage(BaseModel):
    relationships: list[RelationshipRow]


class OpenRequestView(BaseModel):
    mentorship_id: str
    request_id: str
    kind: FeedbackKind
    session_id: str | None = None
    requested_at: AwareDatetime


class FeedbackRequestPage(BaseModel):
    employee_id: str
    requests: list[OpenRequestView]


class CalendarFeedView(BaseModel):
    employee_id: str
    secret: str
    url: str


class AdminNoteIn(_In):
    text: Annotated[str, Field(min_length=1, max_length=2000)]


class AdminNotePage(BaseModel):
    items: list[AdminNote]


class NudgeIn(_In):
    message: Annotated[str, Field(max_length=500)] | None = None


class NudgeView(BaseModel):
    nudge_id: str
    mentorship_id: str
