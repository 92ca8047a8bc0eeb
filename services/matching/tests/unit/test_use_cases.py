"""The use cases on in-memory fakes of the unit of work: behaviour without a broker or store."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tandem_chassis.concurrency import ConflictError
from tandem_contracts import ProfileDeactivated, ProfileErased
from tandem_matching.domain.lifecycle import Action, EndReason, IllegalTransition, NotPermitted, State
from tandem_matching.domain.mentorship import MentorLoad, Seats
from tandem_matching.domain.model import Eligibility, Weights
from tandem_matching.service_layer import mentorships as use
from tandem_matching.service_layer import programs as program_use
from tandem_matching.service_layer.errors import NotFoundError, RequestRefusedError
from tandem_matching.service_layer.profiles import record_profile, record_profiles
from tandem_matching.service_layer.seats import reconcile_loads

pytestmark = pytest.mark.unit


def kinds(uow) -> list[tuple[str, str, int]]:
    return [(type(e).__name__, e.mentorship_id, e.version) for e in uow.mentorships.events]


async def seats(uow, mentor_id: str) -> Seats:
    load = await uow.loads.get(mentor_id)
    return load.seats if load else Seats()


async def test_a_request_is_proposed_with_its_explained_score_and_takes_a_seat(uow, profile):
    await record_profiles(uow, [profile.mentor("m1"), profile.mentee("e1")])

    proposal = await use.request_mentorship(uow, "e1", "m1", message="hello")

    assert (proposal.status, proposal.origin, proposal.version) == (State.PROPOSED, "request", 1)
    assert 0 < proposal.score <= 1
    assert set(proposal.breakdown) == {"goal_fit", "seniority", "timezone", "department", "interests"}
    assert proposal.reasons
    assert proposal.expires_at == uow.clock() + uow.default_expiry
    assert kinds(uow) == [("MentorshipProposed", proposal.mentorship_id, 1)]
    assert await seats(uow, "m1") == Seats(active=1, pending=1)


async def test_the_mentor_accepts_and_either_party_ends_it_which_frees_the_seat(uow, profile):
    await record_profiles(uow, [profile.mentor("m1"), profile.mentee("e1")])
    proposal = await use.request_mentorship(uow, "e1", "m1", message=None)
    mid = proposal.mentorship_id

    accepted = await use.act_on_mentorship(uow, mid, Action.ACCEPT, actor_id="m1")
    assert (accepted.status, accepted.version, accepted.accepted_at) == (State.ACCEPTED, 2, uow.clock())
    assert await seats(uow, "m1") == Seats(active=1, pending=0)

    ended = await use.act_on_mentorship(uow, mid, Action.END, actor_id="e1", reason="completed")
    assert (ended.status, ended.reason, ended.version) == (State.ENDED, EndReason.COMPLETED, 3)
    assert await seats(uow, "m1") == Seats()
    assert [k for k, _, _ in kinds(uow)] == ["MentorshipProposed", "MentorshipAccepted", "MentorshipEnded"]


async def test_only_the_responder_answers_and_a_state_allows_each_action_once(uow, profile):
    await record_profiles(uow, [profile.mentor("m1"), profile.mentee("e1"), profile.mentee("x1")])
    mid = (await use.request_mentorship(uow, "e1", "m1", message=None)).mentorship_id

    with pytest.raises(NotPermitted):
        await use.act_on_mentorship(uow, mid, Action.ACCEPT, actor_id="e1")  # the mentor answers
    with pytest.raises(NotPermitted):
        await use.act_on_mentorship(uow, mid, Action.ACCEPT, actor_id="x1")
    await use.act_on_mentorship(uow, mid, Action.ACCEPT, actor_id="m1")
    with pytest.raises(IllegalTransition) as twice:
        await use.act_on_mentorship(uow, mid, Action.ACCEPT, actor_id="m1")
    assert twice.value.current_state is State.ACCEPTED
    with pytest.raises(NotFoundError):
        await use.act_on_mentorship(uow, "nope", Action.ACCEPT, actor_id="m1")


async def test_a_declined_pair_is_excluded_and_an_open_one_is_not_requested_twice(uow, profile):
    await record_profiles(uow, [profile.mentor("m1"), profile.mentor("m2"), profile.mentee("e1")])
    mid = (await use.request_mentorship(uow, "e1", "m1", message=None)).mentorship_id

    with pytest.raises(RequestRefusedError) as again:
        await use.request_mentorship(uow, "e1", "m1", message=None)
    assert again.value.reason == use.ALREADY_OPEN
    await use.act_on_mentorship(uow, mid, Action.DECLINE, actor_id="m1")
    assert await seats(uow, "m1") == Seats()
    with pytest.raises(RequestRefusedError) as excluded:
        await use.request_mentorship(uow, "e1", "m1", message=None)
    assert excluded.value.reason == use.PAIR_EXCLUDED
    suggested = await use.suggest_mentors(uow, "e1", limit=5)
    assert [s.mentor_id for s in suggested] == ["m2"], "a declined pair is not suggested"


async def test_a_full_mentor_refuses_with_mentor_at_capacity(uow, profile):
    await record_profiles(
        uow, [profile.mentor("m1", mentor_capacity=1), profile.mentee("e1"), profile.mentee("e2")]
    )
    await use.request_mentorship(uow, "e1", "m1", message=None)

    with pytest.raises(RequestRefusedError) as full:
        await use.request_mentorship(uow, "e2", "m1", message=None)

    assert full.value.reason == use.MENTOR_AT_CAPACITY
    assert len(uow.mentorships.events) == 1
    assert await seats(uow, "m1") == Seats(active=1, pending=1)


async def test_a_pair_in_one_reporting_line_is_refused_with_the_constraint_reason(uow, profile):
    await record_profiles(uow, [profile.mentor("boss"), profile.mentee("e1", manager_id="boss")])

    with pytest.raises(RequestRefusedError) as refused:
        await use.request_mentorship(uow, "e1", "boss", message=None)

    assert refused.value.reason == "reporting_line_only"
    assert uow.mentorships.events == []


async def test_an_unknown_mentee_has_no_suggestions(uow):
    with pytest.raises(NotFoundError):
        await use.suggest_mentors(uow, "ghost", limit=5)


async def test_the_expiry_job_expires_only_due_proposals_and_frees_their_seats(uow, profile):
    await record_profiles(uow, [profile.mentor("m1"), profile.mentee("e1"), profile.mentee("e2")])
    first = await use.request_mentorship(uow, "e1", "m1", message=None)
    uow.clock.advance(days=6)
    second = await use.request_mentorship(uow, "e2", "m1", message=None)

    uow.clock.advance(days=1, seconds=1)
    assert await use.expire_due_proposals(uow) == 1
    assert (await use.get_mentorship(uow, first.mentorship_id)).status is State.EXPIRED
    assert (await use.get_mentorship(uow, second.mentorship_id)).status is State.PROPOSED
    assert await seats(uow, "m1") == Seats(active=1, pending=1)
    assert await use.expire_due_proposals(uow) == 0


async def test_a_write_that_keeps_losing_the_version_race_is_a_conflict(uow, profile):
    await record_profiles(uow, [profile.mentor("m1"), profile.mentee("e1")])
    mid = (await use.request_mentorship(uow, "e1", "m1", message=None)).mentorship_id
    uow.mentorships.lose_writes = 1_000

    with pytest.raises(ConflictError):
        await use.act_on_mentorship(uow, mid, Action.ACCEPT, actor_id="m1")
    assert (await use.get_mentorship(uow, mid)).status is State.PROPOSED


async def test_a_write_that_loses_once_is_retried_and_lands(uow, profile):
    await record_profiles(uow, [profile.mentor("m1"), profile.mentee("e1")])
    mid = (await use.request_mentorship(uow, "e1", "m1", message=None)).mentorship_id
    uow.mentorships.lose_writes = 1

    accepted = await use.act_on_mentorship(uow, mid, Action.ACCEPT, actor_id="m1")

    assert (accepted.status, accepted.version) == (State.ACCEPTED, 2)
    assert await seats(uow, "m1") == Seats(active=1, pending=0), "the seat changed once"


async def test_a_round_plan_is_applied_as_proposals_with_a_published_report(uow, profile):
    await record_profiles(
        uow,
        [
            profile.mentor("ma", mentor_capacity=1, skills=[{"name": "go", "level": 5}]),
            profile.mentor("mb", mentor_capacity=1, skills=[{"name": "rust", "level": 5}]),
            profile.mentee("e1", goals=[{"name": "go", "level": 3}]),
            profile.mentee("e2", goals=[{"name": "rust", "level": 3}]),
            profile.mentee("e3", goals=[{"name": "go", "level": 3}, {"name": "rust", "level": 3}]),
            profile.mentee("e4", department="sales"),
        ],
    )
    spec = program_use.NewProgram(
        name="Spring",
        description=None,
        eligibility=Eligibility(departments=("eng",)),
        weights=Weights(goal_fit=0.8, seniority=0.05, timezone=0.05, department=0.05, interests=0.05),
        objective="participation",
        mentorship_length_days=90,
        proposal_expiry_days=3,
    )
    program = await program_use.create_program(uow, spec, admin_id="admin-1")
    await program_use.enroll(
        uow, program.program_id, mentee_ids=["e1", "e2", "e3", "e4", "ghost"], mentor_ids=[]
    )

    done = await program_use.run_round(uow, program.program_id)

    report = done.report
    assert {(p.mentee_id, p.mentor_id) for p in report.pairs} == {("e1", "ma"), ("e2", "mb")}
    assert dict(report.unmatched) == {
        "e3": "capacity_exhausted",
        "e4": "mentee_ineligible",
        "ghost": "profile_unknown",
    }
    assert report.mentor_load == {"1": 2}
    proposals = await uow.mentorships.find(program_id=program.program_id)
    assert {(m.mentee_id, m.origin, m.round_id) for m in proposals} == {
        ("e1", "round", done.round_id),
        ("e2", "round", done.round_id),
    }
    assert all(m.expires_at - m.proposed_at == timedelta(days=3) for m in proposals), "the program's expiry"
    assert [type(e).__name__ for e in uow.programs.events] == ["ProgramCreated", "RoundCompleted"]
    completed = uow.programs.events[1]
    assert (completed.matched, completed.unmatched, completed.program_name) == (2, 3, "Spring")
    assert (await program_use.get_program(uow, program.program_id)).round_ids == (done.round_id,)
    assert await program_use.get_round(uow, program.program_id, done.round_id) == done

    second = await program_use.run_round(uow, program.program_id)
    assert second.report.matched == 0, "matched mentees wait; the full mentors have no seat left"


async def test_a_group_program_matches_and_suggests_only_members_of_its_groups(uow, profile):
    await record_profiles(
        uow,
        [
            profile.mentor("m-member", groups=["g-wie"]),
            profile.mentor("m-outsider", skills=[{"name": "python", "level": 5}]),
            profile.mentee("e-member", groups=["g-wie", "g-cohort"]),
            profile.mentee("e-outsider"),
        ],
    )
    spec = program_use.NewProgram(
        "Women in Engineering", None, Eligibility(groups=("g-wie",)), Weights(), "score", 180, None
    )
    program = await program_use.create_program(uow, spec, admin_id="admin-1")
    assert (await program_use.get_program(uow, program.program_id)).eligibility.groups == ("g-wie",)
    await program_use.enroll(
        uow, program.program_id, mentee_ids=["e-member", "e-outsider"], mentor_ids=["m-member", "m-outsider"]
    )

    everyone = await use.suggest_mentors(uow, "e-outsider", limit=5)
    assert {s.mentor_id for s in everyone} == {"m-member", "m-outsider"}, "outside a program: no filter"
    within = await use.suggest_mentors(uow, "e-member", limit=5, program_id=program.program_id)
    assert [s.mentor_id for s in within] == ["m-member"]
    assert await use.suggest_mentors(uow, "e-outsider", limit=5, program_id=program.program_id) == []
    with pytest.raises(NotFoundError):
        await use.suggest_mentors(uow, "e-member", limit=5, program_id="no-such-program")

    done = await program_use.run_round(uow, program.program_id)

    assert [(p.mentee_id, p.mentor_id) for p in done.report.pairs] == [("e-member", "m-member")]
    assert dict(done.report.unmatched) == {"e-outsider": "mentee_ineligible"}


async def test_a_round_asked_for_while_another_holds_the_programs_lease_is_refused(uow):
    spec = program_use.NewProgram("P", None, Eligibility(), Weights(), "score", 180, None)
    program = await program_use.create_program(uow, spec, admin_id="a")
    now = uow.clock()
    assert await uow.rounds.claim_lease(
        program.program_id, "another-replica", now=now, lease=timedelta(minutes=10)
    )

    with pytest.raises(RequestRefusedError) as refused:
        await program_use.run_round(uow, program.program_id)

    assert refused.value.reason == "round_running"
    await uow.rounds.release_lease(program.program_id, "another-replica")
    done = await program_use.run_round(uow, program.program_id)
    assert done.report.matched == 0 and not uow.rounds.leases, "ran, and gave its lease back"


async def test_enrolling_twice_changes_nothing(uow):
    spec = program_use.NewProgram("P", None, Eligibility(), Weights(), "score", 180, None)
    program = await program_use.create_program(uow, spec, admin_id="a")
    once = await program_use.enroll(uow, program.program_id, mentee_ids=["e1"], mentor_ids=["m1"])
    twice = await program_use.enroll(uow, program.program_id, mentee_ids=["e1"], mentor_ids=["m1"])
    assert (twice.mentee_ids, twice.mentor_ids) == (once.mentee_ids, once.mentor_ids) == (("e1",), ("m1",))


async def test_program_created_carries_the_mentorship_length_and_the_auto_close(uow):
    spec = program_use.NewProgram(
        "P", None, Eligibility(), Weights(), "score", 90, None, auto_close_inactive_days=45
    )
    program = await program_use.create_program(uow, spec, admin_id="a")
    assert (await program_use.get_program(uow, program.program_id)).auto_close_inactive_days == 45
    unset = await program_use.create_program(
        uow, program_use.NewProgram("Q", None, Eligibility(), Weights(), "score", 180, None), admin_id="a"
    )
    created = {e.program_id: e for e in uow.programs.events}
    assert (
        created[program.program_id].mentorship_length_days,
        created[program.program_id].auto_close_inactive_days,
    ) == (90, 45)
    assert (
        created[unset.program_id].mentorship_length_days,
        created[unset.program_id].auto_close_inactive_days,
    ) == (180, None)


async def test_when_a_mentor_leaves_their_mentorships_end_and_each_mentee_is_reproposed(uow, profile):
    leaver = profile.mentor("m1", skills=[{"name": "python", "level": 5}])
    await record_profiles(
        uow,
        [
            leaver,
            profile.mentor("m2", skills=[{"name": "python", "level": 3}]),
            profile.mentor("m3", skills=[{"name": "cobol", "level": 3}], languages=["fr"]),
            profile.mentee("e1"),
            profile.mentee("e2"),
        ],
    )
    first = await use.request_mentorship(uow, "e1", "m1", message=None)
    await use.act_on_mentorship(uow, first.mentorship_id, Action.ACCEPT, actor_id="m1")
    second = await use.request_mentorship(uow, "e2", "m1", message=None)

    gone = ProfileDeactivated.model_validate(leaver.model_dump() | {"version": 2, "status": "inactive"})
    await record_profile(uow, gone)
    await record_profile(uow, gone)  # a redelivery changes nothing

    for old in (first, second):
        ended = await use.get_mentorship(uow, old.mentorship_id)
        assert (ended.status, ended.reason) == (State.ENDED, EndReason.MENTOR_LEFT)
        new = await use.get_mentorship(uow, f"{old.mentorship_id}.r")
        assert (new.status, new.origin, new.mentor_id) == (State.PROPOSED, "reproposal", "m2")
        assert new.replaces_mentorship_id == old.mentorship_id
    assert await seats(uow, "m1") == Seats()
    assert await seats(uow, "m2") == Seats(active=2, pending=2)


async def test_erasure_forgets_the_mentees_own_words(uow, profile):
    await record_profiles(uow, [profile.mentor("m1"), profile.mentee("e1")])
    mid = (await use.request_mentorship(uow, "e1", "m1", message="about me")).mentorship_id

    await record_profile(uow, ProfileErased(employee_id="e1", version=2, status="erased"))

    forgotten = await use.get_mentorship(uow, mid)
    assert forgotten.message is None
    assert (forgotten.status, forgotten.reason) == (State.ENDED, EndReason.MENTEE_LEFT)


async def test_reconciling_recounts_seats_that_drifted_from_the_mentorships(uow, profile):
    await record_profiles(uow, [profile.mentor("m1"), profile.mentee("e1")])
    await use.request_mentorship(uow, "e1", "m1", message=None)
    await uow.loads.put(MentorLoad("m1", Seats(2, 0), version=2))  # drifted (e.g. a crash)
    await uow.loads.put(MentorLoad("m9", Seats(1, 1), version=1))  # a seat without a proposal

    assert await reconcile_loads(uow) == 2

    assert await seats(uow, "m1") == Seats(1, 1)
    assert await seats(uow, "m9") == Seats()
    assert await reconcile_loads(uow) == 0
