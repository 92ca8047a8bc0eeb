"""Outcomes matching learns from, and the weights it would propose (never applied by itself).

``relationship.outcome_recorded`` is kept beside the breakdown matching proposed the pair
with. The learned weights come from the program's outcomes once it has `MIN_OUTCOMES` of
them, else from every program's (``all_programs``), else they are `Insufficient`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from tandem_chassis.logging import get_logger
from tandem_contracts import RelationshipOutcomeRecorded

from tandem_matching.domain.components import COMPONENTS
from tandem_matching.domain.learning import MIN_OUTCOMES, Learned, RecordedOutcome, learn, outcome_value
from tandem_matching.service_layer.programs import get_program
from tandem_matching.service_layer.unit_of_work import UnitOfWork

__all__ = ["Insufficient", "LearnedWeights", "learned_weights", "record_outcome"]

log = get_logger(__name__)
Scope = Literal["program", "all_programs"]


@dataclass(frozen=True, slots=True)
class Insufficient:
    outcomes_used: int
    needed: int = MIN_OUTCOMES

    @property
    def more_needed(self) -> int:
        return max(0, self.needed - self.outcomes_used)


@dataclass(frozen=True, slots=True)
class LearnedWeights:
    scope: Scope
    learned: Learned


async def record_outcome(uow: UnitOfWork, recorded: RelationshipOutcomeRecorded) -> RecordedOutcome | None:
    """Keep the outcome beside the mentorship's proposed breakdown (idempotent: one per
    mentorship, a redelivery rewrites the same). None when matching cannot learn from it."""
    found = await uow.mentorships.get(recorded.mentorship_id)
    if found is None or not all(name in found.breakdown for name in COMPONENTS):
        log.warning("an outcome without a known breakdown", mentorship_id=recorded.mentorship_id)
        return None
    outcome = RecordedOutcome(
        mentorship_id=found.mentorship_id,
        program_id=recorded.program_id or found.program_id,
        breakdown={name: found.breakdown[name] for name in COMPONENTS},
        value=outcome_value(recorded.goals_achieved, recorded.would_recommend, recorded.final_satisfaction),
        recorded_at=recorded.recorded_at,
    )
    await uow.outcomes.put(outcome)
    return outcome


async def learned_weights(uow: UnitOfWork, program_id: str) -> LearnedWeights | Insufficient:
    program = await get_program(uow, program_id)  # NotFoundError: 404
    scope: Scope = "program"
    outcomes = await uow.outcomes.find(program_id=program_id)
    if len(outcomes) < MIN_OUTCOMES:
        scope, outcomes = "all_programs", await uow.outcomes.find()
    if len(outcomes) < MIN_OUTCOMES:
        return Insufficient(len(outcomes))
    components = np.array([[o.breakdown[name] for name in COMPONENTS] for o in outcomes])
    values = np.array([o.value for o in outcomes])
    return LearnedWeights(scope, learn(COMPONENTS, components, values, program.weights.as_dict()))
