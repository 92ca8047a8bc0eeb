"""Programs (cohorts matched in rounds), their matching terms and their rounds' reports."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from .assignment import loads_histogram
from .model import Eligibility, Weights

__all__ = ["Objective", "Program", "ProgramTerms", "Round", "RoundPair", "RoundReport"]

Objective = Literal["score", "participation"]


@dataclass(frozen=True, slots=True)
class ProgramTerms:
    """What a program says about matching (the defaults outside any program)."""

    expiry: timedelta
    weights: Weights = field(default_factory=Weights)
    eligibility: Eligibility | None = None
    program_id: str | None = None


@dataclass(frozen=True, slots=True)
class Program:
    """A program; `version` is the one it has once stored (changes carry the next one)."""

    program_id: str
    name: str
    created_at: datetime
    admin_ids: tuple[str, ...] = ()
    description: str | None = None
    eligibility: Eligibility = field(default_factory=Eligibility)
    weights: Weights = field(default_factory=Weights)
    objective: Objective = "score"
    mentorship_length_days: int = 180
    proposal_expiry_days: float | None = None
    auto_close_inactive_days: int | None = None  # days without a session before it ends inactive
    mentee_ids: tuple[str, ...] = ()
    mentor_ids: tuple[str, ...] = ()
    round_ids: tuple[str, ...] = ()
    version: int = 1

    def terms(self, *, default_expiry: timedelta) -> ProgramTerms:
        days = self.proposal_expiry_days
        return ProgramTerms(
            expiry=timedelta(days=days) if days is not None else default_expiry,
            weights=self.weights,
            eligibility=self.eligibility,
            program_id=self.program_id,
        )

    def enrolled(self, *, mentee_ids: Sequence[str], mentor_ids: Sequence[str]) -> Program:
        """The next version with these people enrolled too (each once, in enrollment order)."""
        return replace(
            self,
            mentee_ids=tuple(dict.fromkeys([*self.mentee_ids, *mentee_ids])),
            mentor_ids=tuple(dict.fromkeys([*self.mentor_ids, *mentor_ids])),
            version=self.version + 1,
        )

    def with_weights(self, weights: Weights) -> Program:
        """The next version scoring with these weights (the next round and suggestions)."""
        return replace(self, weights=weights, version=self.version + 1)

    def with_round(self, round_id: str) -> Program:
        return replace(self, round_ids=(*self.round_ids, round_id), version=self.version + 1)


@dataclass(frozen=True, slots=True)
class RoundPair:
    mentee_id: str
    mentor_id: str
    score: float


@dataclass(frozen=True, slots=True)
class RoundReport:
    """What a round did: matched pairs, unmatched mentees with the reason, scores (rounded to
    4 places, from the unrounded ones) and the mentor load histogram."""

    pairs: tuple[RoundPair, ...] = ()
    unmatched: tuple[tuple[str, str], ...] = ()  # (mentee id, reason), by mentee id
    total_score: float = 0.0
    mean_score: float | None = None
    min_score: float | None = None
    mentor_load: dict[str, int] = field(default_factory=dict)  # "load" -> mentors with it

    @classmethod
    def of(cls, pairs: Sequence[RoundPair], unmatched: Mapping[str, str], n_mentors: int) -> RoundReport:
        scores = [p.score for p in pairs]
        loads = loads_histogram((p.mentor_id for p in pairs), n_mentors)
        return cls(
            pairs=tuple(replace(p, score=round(p.score, 4)) for p in pairs),
            unmatched=tuple(sorted(unmatched.items())),
            total_score=round(sum(scores), 4),
            mean_score=round(sum(scores) / len(scores), 4) if scores else None,
            min_score=round(min(scores), 4) if scores else None,
            mentor_load={str(load): count for load, count in loads.items()},
        )

    @property
    def matched(self) -> int:
        return len(self.pairs)

    @property
    def unmatched_reasons(self) -> dict[str, int]:
        return dict(Counter(reason for _, reason in self.unmatched))


@dataclass(frozen=True, slots=True)
class Round:
    round_id: str
    program_id: str
    started_at: datetime
    status: Literal["running", "completed"] = "running"
    objective: Objective | None = None
    completed_at: datetime | None = None
    report: RoundReport = field(default_factory=RoundReport)

    def completed(self, report: RoundReport, *, objective: Objective, at: datetime) -> Round:
        return replace(self, status="completed", objective=objective, completed_at=at, report=report)
