"""Outcomes kept beside the proposed breakdown, and the learned weights' scope, on the fakes."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from tandem_chassis.consumer import Delivery
from tandem_contracts import CloudEvent, RelationshipOutcomeRecorded
from tandem_matching.domain.components import COMPONENTS
from tandem_matching.domain.mentorship import Mentorship
from tandem_matching.domain.model import Eligibility, Weights
from tandem_matching.domain.suggestions import Explanation
from tandem_matching.entrypoints.relationship_events import on_relationship_event
from tandem_matching.service_layer import programs as program_use
from tandem_matching.service_layer.errors import NotFoundError
from tandem_matching.service_layer.learning import Insufficient, LearnedWeights, learned_weights

pytestmark = pytest.mark.unit
AT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
DELIVERY = Delivery("tandem.relationships", 0, 0, "m-1", "tandem-matching")
ENVELOPE = CloudEvent(id="ev-1", source="tandem-relationships", type="relationship.outcome_recorded")


async def program(uow, name: str) -> str:
    spec = program_use.NewProgram(
        name=name,
        description=None,
        eligibility=Eligibility(),
        weights=Weights(),
        objective="score",
        mentorship_length_days=180,
        proposal_expiry_days=None,
    )
    return (await program_use.create_program(uow, spec, admin_id="admin-1")).program_id


async def with_outcomes(uow, program_id: str | None, count: int, *, start: int = 0) -> None:
    rng = np.random.default_rng(start)
    for i in range(start, start + count):
        breakdown = dict(zip(COMPONENTS, rng.uniform(size=len(COMPONENTS)).round(4).tolist(), strict=True))
        mentorship = Mentorship.proposal(
            f"m{i}",
            mentor_id=f"mentor-{i}",
            mentee_id=f"mentee-{i}",
            origin="round",
            score=0.5,
            explanation=Explanation(breakdown, []),
            at=AT,
            expiry=timedelta(days=7),
            program_id=program_id,
        )
        await uow.mentorships.add(mentorship)
        await on_relationship_event(uow, ENVELOPE, recorded(mentorship, would_recommend=i % 11), DELIVERY)


def recorded(mentorship: Mentorship, **overrides) -> RelationshipOutcomeRecorded:
    values = {
        "mentorship_id": mentorship.mentorship_id,
        "mentor_id": mentorship.mentor_id,
        "mentee_id": mentorship.mentee_id,
        "goals_achieved": "partly",
        "would_recommend": 8,
        "recorded_at": AT,
    }
    return RelationshipOutcomeRecorded(**(values | overrides))


async def test_an_outcome_is_kept_beside_the_proposed_breakdown_once(uow):
    program_id = await program(uow, "p")
    await with_outcomes(uow, program_id, 1)
    (kept,) = await uow.outcomes.find(program_id=program_id)
    proposed = await uow.mentorships.get("m0")
    assert kept.breakdown == proposed.breakdown
    assert kept.program_id == program_id, "the mentorship's program when the event has none"
    assert kept.value == pytest.approx((0.5 + 0.0) / 2)

    again = recorded(proposed, goals_achieved="yes", would_recommend=10)
    await on_relationship_event(uow, ENVELOPE, again, DELIVERY)
    (kept,) = await uow.outcomes.find()
    assert kept.value == 1.0, "one outcome per mentorship, the latest"


async def test_an_outcome_of_an_unknown_mentorship_is_skipped(uow):
    stranger = Mentorship("nope", "mentor-x", "mentee-x")
    await on_relationship_event(uow, ENVELOPE, recorded(stranger), DELIVERY)
    assert await uow.outcomes.find() == []


async def test_the_program_scope_needs_thirty_else_all_programs_else_insufficient(uow):
    small, big = await program(uow, "small"), await program(uow, "big")
    with pytest.raises(NotFoundError):
        await learned_weights(uow, "missing")
    await with_outcomes(uow, small, 10)
    await with_outcomes(uow, None, 5, start=10)  # outside any program: counted in all programs
    found = await learned_weights(uow, small)
    assert isinstance(found, Insufficient)
    assert (found.outcomes_used, found.more_needed) == (15, 15)

    await with_outcomes(uow, big, 30, start=15)
    for program_id, scope, used in ((big, "program", 30), (small, "all_programs", 45)):
        found = await learned_weights(uow, program_id)
        assert isinstance(found, LearnedWeights)
        assert (found.scope, found.learned.outcomes_used) == (scope, used)
