"""A program's health and outcomes, from its relationships: pure figures for its admins.

Health describes the program's open pairs now; outcomes its ended ones. An aggregate over
ratings or free text of fewer than ``MIN_GROUP`` distinct people is :class:`Withheld`, so
nobody can be singled out (people erased since they answered count as one person together).
A pair's own row (its latest pulse) is shown to admins: only aggregates are withheld.
"""

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar

from pydantic import BaseModel
from tandem_contracts.relationships import Health

from tandem_relationships.domain.model import AdminNote, FeedbackAnswer, FeedbackRequest, Relationship

__all__ = [
    "MIN_GROUP",
    "Answered",
    "PairRow",
    "PairSort",
    "ProgramHealth",
    "ProgramOutcomes",
    "Withheld",
    "answered",
    "ended_early",
    "enough",
    "guarded",
    "hours_held",
    "last_session_at",
    "latest_pulse",
    "program_health",
    "program_outcomes",
]

MIN_GROUP = 3
WITHHELD_REASON = f"fewer than {MIN_GROUP} answers"
PairSort = Literal["fewest_sessions", "oldest_last_session", "lowest_pulse"]
# mentorship.ended reasons: the pair (or its end date) ended it normally; every other reason
# (cancelled, mentor_left, mentee_left, not_a_fit, inactive) ended it early.
NORMAL_END_REASONS = frozenset({"completed"})
T = TypeVar("T")


class Withheld(BaseModel):
    withheld: Literal[True] = True
    reason: str = WITHHELD_REASON
    answers: int


@dataclass(frozen=True, slots=True)
class Answered:
    """One answered feedback request, with the pair it belongs to."""

    relationship: Relationship
    request: FeedbackRequest
    answer: FeedbackAnswer

    @property
    def person(self) -> str:
        return self.request.respondent_id


def answered(relationships: Iterable[Relationship], kind: str | None = None) -> list[Answered]:
    """Every answered request (of ``kind``), in the order they were answered."""
    found = [
        Answered(relationship, request, request.answer)
        for relationship in relationships
        for request in relationship.feedback
        if request.answer is not None and (kind is None or request.kind == kind)
    ]
    return sorted(
        found, key=lambda a: (a.request.answered_at or a.request.requested_at, a.request.request_id)
    )


def _answer_order(item: Answered) -> tuple[datetime, str]:
    return item.request.answered_at or item.request.requested_at, item.request.request_id


def guarded(answers: Sequence[Answered], figure: Callable[[Sequence[Answered]], T]) -> T | Withheld:
    """``figure(answers)``, or :class:`Withheld` when fewer than ``MIN_GROUP`` people gave them."""
    return figure(answers) if enough(answers) else Withheld(answers=len(answers))


def enough(answers: Sequence[Answered]) -> bool:
    """Whether at least ``MIN_GROUP`` distinct people gave ``answers``."""
    return len({a.person for a in answers}) >= MIN_GROUP


def _latest_per_person(answers: Sequence[Answered]) -> list[Answered]:
    """Each person's latest answer in each pair (an ``unsure`` fit is asked again)."""
    latest = {(a.relationship.mentorship_id, a.person): a for a in answers}
    return list(latest.values())


def _median(values: Sequence[float]) -> float | None:
    return round(float(statistics.median(values)), 2) if values else None


def _mean(values: Sequence[float]) -> float:
    return round(statistics.fmean(values), 2)


# -- health ---------------------------------------------------------------------------------


class PairRow(BaseModel):
    mentorship_id: str
    mentor_id: str
    mentor_name: str | None
    mentee_id: str
    mentee_name: str | None
    health: Health
    last_session_at: datetime | None
    sessions: int
    latest_pulse: int | None
    open_requests: int
    admin_notes: list[AdminNote]


class SessionFigures(BaseModel):
    total: int
    median_per_pair: float | None


class HourFigures(BaseModel):
    total: float
    median_per_pair: float | None


class PulseFigures(BaseModel):
    mean: float
    answers: int
    distribution: dict[str, int]


class ProgramHealth(BaseModel):
    program_id: str
    as_of: datetime
    pairs_by_health: dict[str, int]
    agreements_signed_share: float | None
    days_to_first_session_median: float | None
    sessions: SessionFigures
    hours: HourFigures
    fit_answers: dict[str, int] | Withheld
    pulse: PulseFigures | Withheld
    pairs: list[PairRow]


def hours_held(relationship: Relationship) -> float:
    return sum(s.log.minutes for s in relationship.held_sessions if s.log is not None) / 60


def last_session_at(relationship: Relationship) -> datetime | None:
    return max((s.starts_at for s in relationship.held_sessions), default=None)


def latest_pulse(relationship: Relationship) -> int | None:
    pulses = answered([relationship], "pulse")
    return pulses[-1].answer.satisfaction if pulses else None


def _days_to_first_session(relationship: Relationship) -> float | None:
    first = min((s.starts_at for s in relationship.held_sessions), default=None)
    if first is None:
        return None
    return max(0.0, (first - relationship.opened_at).total_seconds() / 86_400)


def _pair_row(relationship: Relationship, names: Mapping[str, str | None]) -> PairRow:
    return PairRow(
        mentorship_id=relationship.mentorship_id,
        mentor_id=relationship.mentor_id,
        mentor_name=names.get(relationship.mentor_id),
        mentee_id=relationship.mentee_id,
        mentee_name=names.get(relationship.mentee_id),
        health=relationship.health,
        last_session_at=last_session_at(relationship),
        sessions=len(relationship.held_sessions),
        latest_pulse=latest_pulse(relationship),
        open_requests=len(relationship.open_requests()),
        admin_notes=list(relationship.admin_notes),
    )


_SORTS: dict[str, Callable[[PairRow], tuple[object, ...]]] = {
    "fewest_sessions": lambda row: (row.sessions, row.mentorship_id),
    # never met sorts first: it is the oldest "last session" there is
    "oldest_last_session": lambda row: (
        row.last_session_at is not None,
        row.last_session_at.timestamp() if row.last_session_at else 0.0,
        row.mentorship_id,
    ),
    # no pulse yet sorts last: nothing says it is low
    "lowest_pulse": lambda row: (
        row.latest_pulse is None,
        row.latest_pulse or 0,
        row.mentorship_id,
    ),
}


def _fit_counts(answers: Sequence[Answered]) -> dict[str, int]:
    counted = Counter(a.answer.fit for a in answers)
    return {value: counted.get(value, 0) for value in ("good", "unsure", "poor")}


def _pulse_figures(answers: Sequence[Answered]) -> PulseFigures:
    values = [a.answer.satisfaction for a in answers if a.answer.satisfaction is not None]
    counted = Counter(values)
    return PulseFigures(
        mean=_mean(values),
        answers=len(values),
        distribution={str(value): counted.get(value, 0) for value in range(1, 6)},
    )


def program_health(
    program_id: str,
    relationships: Sequence[Relationship],
    names: Mapping[str, str | None],
    now: datetime,
    *,
    sort: PairSort | None = None,
) -> ProgramHealth:
    """The health of the program's open pairs; ``names``: employee id -> display name."""
    pairs = [r for r in relationships if r.status == "open"]
    by_health = Counter(r.health for r in pairs)
    sessions = [len(r.held_sessions) for r in pairs]
    hours = [hours_held(r) for r in pairs]
    first_session_days = [d for d in map(_days_to_first_session, pairs) if d is not None]
    fits = _latest_per_person([a for a in answered(pairs, "fit") if a.answer.fit is not None])
    pulses = _latest_per_person([a for a in answered(pairs, "pulse") if a.answer.satisfaction is not None])
    rows = [_pair_row(r, names) for r in pairs]
    rows.sort(key=_SORTS[sort] if sort else lambda row: (row.mentorship_id,))
    return ProgramHealth(
        program_id=program_id,
        as_of=now,
        pairs_by_health={state: by_health.get(state, 0) for state in ("healthy", "at_risk", "inactive")},
        agreements_signed_share=(
            round(sum(r.agreement_signed for r in pairs) / len(pairs), 3) if pairs else None
        ),
        days_to_first_session_median=_median(first_session_days),
        sessions=SessionFigures(total=sum(sessions), median_per_pair=_median(sessions)),
        hours=HourFigures(total=round(sum(hours), 2), median_per_pair=_median(hours)),
        fit_answers=guarded(fits, _fit_counts),
        pulse=guarded(pulses, _pulse_figures),
        pairs=rows,
    )


# -- outcomes -------------------------------------------------------------------------------


class EndedFigures(BaseModel):
    completed: int
    ended_early: int
    by_reason: dict[str, int]


class GoalsAchievedShares(BaseModel):
    yes: float
    partly: float
    no: float
    answers: int


class LevelGain(BaseModel):
    skill: str
    mean: float
    count: int


class LevelGainWithheld(Withheld):
    skill: str


class SatisfactionFigures(BaseModel):
    final_mean: float | Withheld | None
    pulse_mean: float | Withheld | None
    answers_final: int
    answers_pulse: int


class RecommendFigures(BaseModel):
    score: float
    promoters: int
    detractors: int
    answers: int


class ProgramOutcomes(BaseModel):
    program_id: str
    as_of: datetime
    ended: EndedFigures
    goals_achieved: GoalsAchievedShares | Withheld
    level_gain: list[LevelGain | LevelGainWithheld]
    satisfaction: SatisfactionFigures
    would_recommend: RecommendFigures | Withheld


def ended_early(relationship: Relationship) -> bool:
    """Ended before its end date for a reason other than a normal end."""
    if relationship.end_reason in NORMAL_END_REASONS:
        return False
    closed = relationship.closed_at
    return closed is None or closed.date() < relationship.end_date


def _goals_shares(answers: Sequence[Answered]) -> GoalsAchievedShares:
    counted = Counter(a.answer.goals_achieved for a in answers)
    share = {value: round(counted.get(value, 0) / len(answers), 3) for value in ("yes", "partly", "no")}
    return GoalsAchievedShares(**share, answers=len(answers))


def _recommend(answers: Sequence[Answered]) -> RecommendFigures:
    scores = [a.answer.would_recommend for a in answers if a.answer.would_recommend is not None]
    promoters = sum(score >= 9 for score in scores)
    detractors = sum(score <= 6 for score in scores)
    return RecommendFigures(
        score=round(100 * (promoters - detractors) / len(scores), 1),
        promoters=promoters,
        detractors=detractors,
        answers=len(scores),
    )


def _mean_or_none(answers: Sequence[Answered], value: Callable[[FeedbackAnswer], int | None]) -> float | None:
    values = [v for v in (value(a.answer) for a in answers) if v is not None]
    return _mean(values) if values else None


def _satisfaction(answer: FeedbackAnswer) -> int | None:
    return answer.satisfaction


def _satisfaction_mean(answers: Sequence[Answered]) -> float | Withheld | None:
    if not answers:
        return None
    return guarded(answers, lambda group: _mean_or_none(group, _satisfaction))


def _level_gains(finals: Sequence[Answered]) -> list[LevelGain | LevelGainWithheld]:
    """Per goal skill: the mentee's final level minus the agreement's ``current_level``."""
    by_skill: dict[str, list[tuple[Answered, int]]] = {}
    skill_names: dict[str, str] = {}
    for final in finals:
        for goal in final.relationship.goals:
            if goal.goal_id in final.answer.goal_levels:
                gain = final.answer.goal_levels[goal.goal_id] - goal.current_level
                by_skill.setdefault(goal.goal_id, []).append((final, gain))
                skill_names.setdefault(goal.goal_id, goal.name)
    gains: list[LevelGain | LevelGainWithheld] = []
    for goal_id, entries in sorted(by_skill.items(), key=lambda item: skill_names[item[0]].lower()):
        skill = skill_names[goal_id]
        answers = [answer for answer, _ in entries]
        gains.append(
            LevelGain(skill=skill, mean=_mean([gain for _, gain in entries]), count=len(entries))
            if enough(answers)
            else LevelGainWithheld(skill=skill, answers=len(answers))
        )
    return gains


def program_outcomes(
    program_id: str, relationships: Sequence[Relationship], now: datetime
) -> ProgramOutcomes:
    """How the program's mentorships ended and what their people said at the end.

    Goals achieved, level gains and would-recommend are the mentees' final answers (the
    outcome); final satisfaction is every final answer that rated it, pulse satisfaction every
    pulse answer of the program.
    """
    closed = [r for r in relationships if r.status == "closed"]
    early = [r for r in closed if ended_early(r)]
    finals = answered(relationships, "final")
    mentee_finals = [a for a in finals if a.request.respondent_role == "mentee"]
    rated_finals = [a for a in finals if a.answer.satisfaction is not None]
    pulses = [a for a in answered(relationships, "pulse") if a.answer.satisfaction is not None]
    return ProgramOutcomes(
        program_id=program_id,
        as_of=now,
        ended=EndedFigures(
            completed=len(closed) - len(early),
            ended_early=len(early),
            by_reason=dict(sorted(Counter(r.end_reason or "unknown" for r in closed).items())),
        ),
        goals_achieved=guarded(
            [a for a in mentee_finals if a.answer.goals_achieved is not None], _goals_shares
        ),
        level_gain=_level_gains(mentee_finals),
        satisfaction=SatisfactionFigures(
            final_mean=_satisfaction_mean(rated_finals),
            pulse_mean=_satisfaction_mean(pulses),
            answers_final=len(rated_finals),
            answers_pulse=len(pulses),
        ),
        would_recommend=guarded(
            [a for a in mentee_finals if a.answer.would_recommend is not None], _recommend
        ),
    )
