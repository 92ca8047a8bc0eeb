"""``tandem.relationships`` use cases on the fakes: a poor fit re-proposes, an auto-close does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tandem_chassis.consumer import Delivery, PermanentError
from tandem_contracts import (
    CloudEvent,
    RelationshipAutoClosed,
    RelationshipFitDeclined,
    RelationshipHealthChanged,
)
from tandem_matching.domain.lifecycle import Action, EndReason, State
from tandem_matching.domain.mentorship import Seats
from tandem_matching.domain.model import Eligibility, Weights
from tandem_matching.entrypoints.relationship_events import on_relationship_event
from tandem_matching.service_layer import mentorships as use
from tandem_matching.service_layer import programs as program_use
from tandem_matching.service_layer.profiles import record_profiles
from tandem_matching.service_layer.relationships import close_inactive, decline_fit

pytestmark = pytest.mark.unit
AT = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
DELIVERY = Delivery("tandem.relationships", 0, 0, "m-1", "tandem-matching")


def fit_declined(mentorship, **overrides) -> RelationshipFitDeclined:
    values = {
        "mentorship_id": mentorship.mentorship_id,
        "mentor_id": mentorship.mentor_id,
        "mentee_id": mentorship.mentee_id,
        "program_id": mentorship.program_id,
        "declined_by": mentorship.mentee_id,
        "request_id": "fit-1",
        "declined_at": AT,
    }
    return RelationshipFitDeclined(**(values | overrides))


def auto_closed(mentorship) -> RelationshipAutoClosed:
    return RelationshipAutoClosed(
        mentorship_id=mentorship.mentorship_id,
        mentor_id=mentorship.mentor_id,
        mentee_id=mentorship.mentee_id,
        inactive_days=60,
        last_activity_at=AT,
        closed_at=AT,
    )


async def seats(uow, mentor_id: str) -> Seats:
    load = await uow.loads.get(mentor_id)
    return load.seats if load else Seats()


async def accepted(uow, mentee_id: str, mentor_id: str):
    proposal = await use.request_mentorship(uow, mentee_id, mentor_id, message=None)
    return await use.act_on_mentorship(uow, proposal.mentorship_id, Action.ACCEPT, actor_id=mentor_id)


def published(uow) -> list[tuple[str, str, str | None]]:
    return [(type(e).__name__, e.mentorship_id, e.reason) for e in uow.mentorships.events]


@pytest.fixture
async def pair(uow, profile):
    await record_profiles(
        uow,
        [
            profile.mentor("m1", skills=[{"name": "python", "level": 5}]),
            profile.mentor("m2", skills=[{"name": "python", "level": 3}]),
            profile.mentee("e1"),
        ],
    )
    return await accepted(uow, "e1", "m1")


async def test_a_poor_fit_ends_the_mentorship_frees_the_seat_and_proposes_another_mentor(uow, pair):
    before = len(uow.mentorships.events)

    new = await decline_fit(uow, fit_declined(pair))

    ended = await use.get_mentorship(uow, pair.mentorship_id)
    assert (ended.status, ended.reason) == (State.ENDED, EndReason.NOT_A_FIT)
    assert new is not None
    assert (new.status, new.origin, new.mentor_id, new.mentee_id) == (
        State.PROPOSED,
        "reproposal",
        "m2",
        "e1",
    )
    assert new.replaces_mentorship_id == pair.mentorship_id
    assert published(uow)[before:] == [
        ("MentorshipEnded", pair.mentorship_id, "not_a_fit"),
        ("MentorshipProposed", new.mentorship_id, None),
    ]
    assert await seats(uow, "m1") == Seats()
    assert await seats(uow, "m2") == Seats(active=1, pending=1)
    assert "m1" not in {s.mentor_id for s in await use.suggest_mentors(uow, "e1", limit=5)}


async def test_a_redelivered_poor_fit_changes_nothing(uow, pair):
    event = fit_declined(pair)
    await decline_fit(uow, event)
    after_first = list(uow.mentorships.events)

    again = await decline_fit(uow, event)

    assert uow.mentorships.events == after_first, "no second ending, no second proposal"
    assert again is not None and again.mentorship_id == f"{pair.mentorship_id}.r"
    assert await seats(uow, "m2") == Seats(active=1, pending=1)


async def test_a_poor_fit_without_another_mentor_only_ends_the_mentorship(uow, profile):
    await record_profiles(uow, [profile.mentor("m1"), profile.mentee("e1")])
    pair = await accepted(uow, "e1", "m1")

    assert await decline_fit(uow, fit_declined(pair)) is None

    assert (await use.get_mentorship(uow, pair.mentorship_id)).reason is EndReason.NOT_A_FIT
    assert await uow.mentorships.get(f"{pair.mentorship_id}.r") is None


async def test_a_poor_fit_is_reproposed_within_the_programs_terms(uow, profile):
    await record_profiles(
        uow,
        [
            profile.mentor("m1", groups=["g"], interests=["chess"]),
            profile.mentor("m-member", groups=["g"]),
            profile.mentor("m-outsider", interests=["chess"]),
            profile.mentee("e1", groups=["g"], interests=["chess"]),
        ],
    )
    spec = program_use.NewProgram("P", None, Eligibility(groups=("g",)), Weights(), "score", 90, 3)
    program = await program_use.create_program(uow, spec, admin_id="a")
    await program_use.enroll(uow, program.program_id, mentee_ids=["e1"], mentor_ids=[])
    done = await program_use.run_round(uow, program.program_id)
    (matched,) = await uow.mentorships.find(program_id=program.program_id)
    assert (matched.mentor_id, matched.round_id) == ("m1", done.round_id)
    pair = await use.act_on_mentorship(uow, matched.mentorship_id, Action.ACCEPT, actor_id="e1")
    uow.clock.advance(days=20)
    anywhere = await use.suggest_mentors(uow, "e1", limit=5)
    assert [x.mentor_id for x in anywhere] == ["m-outsider", "m-member"], "outside the program, the better"

    new = await decline_fit(uow, fit_declined(pair))

    assert new is not None
    assert (new.mentor_id, new.program_id) == ("m-member", program.program_id), "the program's eligibility"
    assert new.expires_at - new.proposed_at == timedelta(days=3), "the program's expiry"


async def test_an_auto_close_ends_the_mentorship_inactive_without_a_new_proposal(uow, pair):
    before = len(uow.mentorships.events)

    ended = await close_inactive(uow, auto_closed(pair))
    await close_inactive(uow, auto_closed(pair))  # redelivered

    assert ended is not None and (ended.status, ended.reason) == (State.ENDED, EndReason.INACTIVE)
    assert published(uow)[before:] == [("MentorshipEnded", pair.mentorship_id, "inactive")]
    assert await seats(uow, "m1") == Seats()
    assert await uow.mentorships.get(f"{pair.mentorship_id}.r") is None


async def test_an_already_ended_mentorship_stays_as_it_is(uow, pair):
    await use.act_on_mentorship(uow, pair.mentorship_id, Action.END, actor_id="e1", reason="completed")
    before = list(uow.mentorships.events)

    assert await decline_fit(uow, fit_declined(pair)) is None
    await close_inactive(uow, auto_closed(pair))

    assert (await use.get_mentorship(uow, pair.mentorship_id)).reason is EndReason.COMPLETED
    assert uow.mentorships.events == before


async def test_a_proposal_and_an_unknown_mentorship_are_left_alone(uow, profile):
    await record_profiles(uow, [profile.mentor("m1"), profile.mentor("m2"), profile.mentee("e1")])
    proposal = await use.request_mentorship(uow, "e1", "m1", message=None)
    before = list(uow.mentorships.events)

    assert await decline_fit(uow, fit_declined(proposal)) is None
    assert (await use.get_mentorship(uow, proposal.mentorship_id)).status is State.PROPOSED
    assert await decline_fit(uow, fit_declined(proposal, mentorship_id="nobody-knows")) is None

    assert uow.mentorships.events == before


async def test_an_event_that_does_not_match_the_mentorship_is_refused_for_the_dead_letter_topic(uow, pair):
    with pytest.raises(PermanentError):
        await decline_fit(uow, fit_declined(pair, mentor_id="m2"))
    with pytest.raises(PermanentError):
        await decline_fit(uow, fit_declined(pair, declined_by="m1"))
    assert (await use.get_mentorship(uow, pair.mentorship_id)).status is State.ACCEPTED


async def test_the_subscriber_acts_on_the_two_types_and_ignores_the_others(uow, pair):
    health = RelationshipHealthChanged(
        mentorship_id=pair.mentorship_id,
        mentor_id="m1",
        mentee_id="e1",
        health="inactive",
        previous="at_risk",
        changed_at=AT,
    )
    before = list(uow.mentorships.events)
    await on_relationship_event(uow, _envelope("relationship.health_changed"), health, DELIVERY)
    assert uow.mentorships.events == before

    await on_relationship_event(uow, _envelope("relationship.auto_closed"), auto_closed(pair), DELIVERY)
    assert (await use.get_mentorship(uow, pair.mentorship_id)).reason is EndReason.INACTIVE


def _envelope(kind: str) -> CloudEvent:
    return CloudEvent(id="ev-1", source="tandem-relationships", type=kind)
