"""Request and response bodies of the matching HTTP API."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from tandem_contracts import MentorshipSnapshot

from tandem_matching.domain.model import Eligibility, Weights
from tandem_matching.domain.programs import Program, Round
from tandem_matching.domain.suggestions import Suggestion
from tandem_matching.service_layer.learning import Insufficient, LearnedWeights
from tandem_matching.service_layer.programs import NewProgram

__all__ = [
    "ComponentEffectView",
    "EligibilityIn",
    "EndRequest",
    "EnrollmentIn",
    "HeldOutView",
    "InsufficientOutcomesView",
    "LearnedWeightsView",
    "MentorshipPage",
    "MentorshipRequest",
    "ProgramIn",
    "ProgramPage",
    "ProgramView",
    "RoundView",
    "SuggestionPage",
    "SuggestionView",
    "WeightsIn",
    "learned_weights_view",
    "program_view",
    "round_view",
    "suggestion_view",
]

EmployeeId = Annotated[str, Field(min_length=1, max_length=128)]


class _In(BaseModel):
    # No NaN or infinities (JSON has none; the store refuses them, which was a 500).
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class MentorshipRequest(_In):
    mentee_id: EmployeeId
    mentor_id: EmployeeId
    message: Annotated[str | None, Field(max_length=2000)] = None


class EndRequest(_In):
    reason: Literal["completed", "cancelled"]


class MentorshipPage(BaseModel):
    items: list[MentorshipSnapshot]


class SuggestionView(BaseModel):
    mentor_id: str
    score: float
    breakdown: dict[str, float]
    reasons: list[str]


def suggestion_view(suggestion: Suggestion) -> SuggestionView:
    return SuggestionView(
        mentor_id=suggestion.mentor_id,
        score=round(suggestion.score, 4),
        breakdown=suggestion.explanation.breakdown,
        reasons=suggestion.explanation.reasons,
    )


class SuggestionPage(BaseModel):
    mentee_id: str
    suggestions: list[SuggestionView]


class EligibilityIn(_In):
    departments: list[Annotated[str, Field(min_length=1, max_length=256)]] | None = None
    min_level: Annotated[int | None, Field(ge=1)] = None
    max_level: Annotated[int | None, Field(ge=1)] = None
    locations: list[Annotated[str, Field(min_length=1, max_length=256)]] | None = None
    groups: (
        Annotated[
            list[Annotated[str, Field(min_length=1, max_length=256)]],
            Field(max_length=100, description="SCIM group ids: members of any of them are eligible"),
        ]
        | None
    ) = None

    def rule(self) -> Eligibility:
        return Eligibility(
            departments=tuple(self.departments) if self.departments is not None else None,
            min_level=self.min_level,
            max_level=self.max_level,
            locations=tuple(self.locations) if self.locations is not None else None,
            groups=tuple(self.groups) if self.groups is not None else None,
        )

    @classmethod
    def of(cls, rule: Eligibility) -> "EligibilityIn":
        return cls(
            departments=list(rule.departments) if rule.departments is not None else None,
            min_level=rule.min_level,
            max_level=rule.max_level,
            locations=list(rule.locations) if rule.locations is not None else None,
            groups=list(rule.groups) if rule.groups is not None else None,
        )


class WeightsIn(_In):
    goal_fit: Annotated[float, Field(ge=0)] = 0.45
    seniority: Annotated[float, Field(ge=0)] = 0.15
    timezone: Annotated[float, Field(ge=0)] = 0.15
    department: Annotated[float, Field(ge=0)] = 0.10
    interests: Annotated[float, Field(ge=0)] = 0.15

    @model_validator(mode="after")
    def _some_weight(self) -> "WeightsIn":
        if sum(self.model_dump().values()) <= 0:
            raise ValueError("at least one weight must be positive")
        return self


class ProgramIn(_In):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str | None, Field(max_length=4000)] = None
    eligibility: EligibilityIn = Field(default_factory=EligibilityIn)
    weights: WeightsIn = Field(default_factory=WeightsIn)
    objective: Literal["score", "participation"] = "score"
    mentorship_length_days: Annotated[int, Field(ge=1, le=3650)] = 180
    proposal_expiry_days: Annotated[float | None, Field(gt=0, le=365)] = None
    auto_close_inactive_days: Annotated[int | None, Field(ge=1, le=3650)] = None

    def command(self) -> NewProgram:
        return NewProgram(
            name=self.name,
            description=self.description,
            eligibility=self.eligibility.rule(),
            weights=Weights(**self.weights.model_dump()),
            objective=self.objective,
            mentorship_length_days=self.mentorship_length_days,
            proposal_expiry_days=self.proposal_expiry_days,
            auto_close_inactive_days=self.auto_close_inactive_days,
        )


class EnrollmentIn(_In):
    mentee_ids: list[EmployeeId] = Field(default_factory=list, max_length=10_000)
    mentor_ids: list[EmployeeId] = Field(default_factory=list, max_length=10_000)

    @model_validator(mode="after")
    def _someone(self) -> "EnrollmentIn":
        if not self.mentee_ids and not self.mentor_ids:
            raise ValueError("enroll at least one mentee or mentor")
        return self


class ProgramView(BaseModel):
    model_config = ConfigDict(extra="ignore")

    program_id: str
    version: int
    name: str
    description: str | None = None
    eligibility: EligibilityIn
    weights: WeightsIn
    objective: Literal["score", "participation"]
    mentorship_length_days: int
    proposal_expiry_days: float | None = None
    auto_close_inactive_days: int | None = None
    admin_ids: list[str]
    mentee_ids: list[str]
    mentor_ids: list[str]
    round_ids: list[str]
    created_at: datetime


def program_view(program: Program) -> ProgramView:
    return ProgramView(
        program_id=program.program_id,
        version=program.version,
        name=program.name,
        description=program.description,
        eligibility=EligibilityIn.of(program.eligibility),
        weights=WeightsIn(**program.weights.as_dict()),
        objective=program.objective,
        mentorship_length_days=program.mentorship_length_days,
        proposal_expiry_days=program.proposal_expiry_days,
        auto_close_inactive_days=program.auto_close_inactive_days,
        admin_ids=list(program.admin_ids),
        mentee_ids=list(program.mentee_ids),
        mentor_ids=list(program.mentor_ids),
        round_ids=list(program.round_ids),
        created_at=program.created_at,
    )


class ProgramPage(BaseModel):
    items: list[ProgramView]


class UnmatchedView(BaseModel):
    mentee_id: str
    reason: str


class PairView(BaseModel):
    mentee_id: str
    mentor_id: str
    score: float


class RoundView(BaseModel):
    model_config = ConfigDict(extra="ignore")

    program_id: str
    round_id: str
    status: str
    objective: str | None = None
    started_at: datetime
    completed_at: datetime | None = None
    matched: int = 0
    pairs: list[PairView] = Field(default_factory=list)
    unmatched: list[UnmatchedView] = Field(default_factory=list)
    unmatched_reasons: dict[str, int] = Field(default_factory=dict)
    total_score: float = 0.0
    mean_score: float | None = None
    min_score: float | None = None
    mentor_load: dict[str, int] = Field(default_factory=dict)


def round_view(done: Round) -> RoundView:
    report = done.report
    return RoundView(
        program_id=done.program_id,
        round_id=done.round_id,
        status=done.status,
        objective=done.objective,
        started_at=done.started_at,
        completed_at=done.completed_at,
        matched=report.matched,
        pairs=[PairView(mentee_id=p.mentee_id, mentor_id=p.mentor_id, score=p.score) for p in report.pairs],
        unmatched=[UnmatchedView(mentee_id=m, reason=r) for m, r in report.unmatched],
        unmatched_reasons=report.unmatched_reasons,
        total_score=report.total_score,
        mean_score=report.mean_score,
        min_score=report.min_score,
        mentor_load=report.mentor_load,
    )


class ComponentEffectView(BaseModel):
    name: str
    effect: float
    ci90: tuple[float, float]
    significant: bool


class HeldOutView(BaseModel):
    metric: Literal["spearman"] = "spearman"
    current: float
    proposed: float
    gain: float


class LearnedWeightsView(BaseModel):
    program_id: str
    scope: Literal["program", "all_programs"]
    outcomes_used: int
    status: Literal["ready"] = "ready"
    components: list[ComponentEffectView]
    current_weights: dict[str, float]
    proposed_weights: dict[str, float]
    held_out: HeldOutView
    verdict: str


class InsufficientOutcomesView(BaseModel):
    program_id: str
    status: Literal["insufficient"] = "insufficient"
    outcomes_used: int
    needed: int
    more_needed: int


def _r(value: float) -> float:
    return round(value, 4)


def learned_weights_view(
    program_id: str, found: LearnedWeights | Insufficient
) -> LearnedWeightsView | InsufficientOutcomesView:
    if isinstance(found, Insufficient):
        return InsufficientOutcomesView(
            program_id=program_id,
            outcomes_used=found.outcomes_used,
            needed=found.needed,
            more_needed=found.more_needed,
        )
    learned = found.learned
    return LearnedWeightsView(
        program_id=program_id,
        scope=found.scope,
        outcomes_used=learned.outcomes_used,
        components=[
            ComponentEffectView(
                name=c.name,
                effect=_r(c.effect),
                ci90=(_r(c.ci90[0]), _r(c.ci90[1])),
                significant=c.significant,
            )
            for c in learned.components
        ],
        current_weights={k: _r(v) for k, v in learned.current_weights.items()},
        proposed_weights={k: _r(v) for k, v in learned.proposed_weights.items()},
        held_out=HeldOutView(
            current=_r(learned.held_out_current),
            proposed=_r(learned.held_out_proposed),
            gain=_r(learned.gain),
        ),
        verdict=learned.verdict,
    )
