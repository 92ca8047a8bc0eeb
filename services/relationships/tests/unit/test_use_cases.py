"""The use cases on an in-memory unit of work: what is stored, what is published, who may read."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tandem_contracts import (
    MentorshipAccepted,
    MentorshipEnded,
    ProfileErased,
    ProfileRegistered,
    ProgramCreated,
    RelationshipHealthChanged,
)
from tandem_relationships.domain.errors import Forbidden, NotFound, Refused
from tandem_relationships.domain.model import FeedbackAnswer
from tandem_relationships.domain.sessions import LogEntry, SessionPlan
from tandem_relationships.service_layer import actions, lifecycle, queries
from tandem_relationships.service_layer.ports import UnitOfWork
from tandem_relationships.service_layer.steps import take_due_steps

pytestmark = pytest.mark.unit

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MENTOR, MENTEE = "mentor-1", "mentee-1"
PAIR: dict[str, Any] = {"mentorship_id": "m-1", "mentor_id": MENTOR, "mentee_id": MENTEE, "program_id": "p-1"}


def party(employee_id: str) -> queries.Viewer:
    return queries.Viewer(employee_id, frozenset({"employee"}))


async def opened(uow: UnitOfWork, **program: Any) -> None:
    await lifecycle.record_program(
        uow, ProgramCreated(program_id="p-1", name="P", admin_ids=["admin-1"], **program)
    )
    accepted = MentorshipAccepted(**PAIR, status="accepted", accepted_at=START)
    assert await lifecycle.open_relationship(uow, accepted, event_id="e-accepted")


def published(uow: UnitOfWork) -> list[str]:
    return uow.relationships.types()  # type: ignore[attr-defined]


async def test_an_accepted_mentorship_opens_one_relationship_with_the_programs_length(
    uow: UnitOfWork,
) -> None:
    await opened(uow, mentorship_length_days=90)
    again = MentorshipAccepted(**PAIR, status="accepted", accepted_at=START)
    assert not await lifecycle.open_relationship(uow, again, event_id="e-accepted")

    shown = await queries.view_relationship(uow, "m-1", party(MENTEE))

    assert shown.default_end_date == (START + timedelta(days=90)).date()
    agreement = await actions.draft_agreement(uow, "m-1", MENTEE, {"cadence": "weekly"})
    assert agreement.versions[0].terms.end_date == shown.default_end_date


async def test_signing_publishes_once_and_refusals_store_nothing(uow: UnitOfWork) -> None:
    await opened(uow)
    await actions.draft_agreement(
        uow, "m-1", MENTEE, {"goals": [{"name": "Python", "current_level": 1, "target_level": 3}]}
    )
    await actions.sign_agreement(uow, "m-1", MENTEE, 1)
    before = await uow.relationships.get("m-1")
    with pytest.raises(Forbidden):
        await actions.sign_agreement(uow, "m-1", "intruder", None)
    assert await uow.relationships.get("m-1") == before
    await actions.sign_agreement(uow, "m-1", MENTOR, 1)
    assert published(uow) == ["relationship.agreement_signed"]
    with pytest.raises(NotFound):
        await actions.sign_agreement(uow, "m-404", MENTOR, 1)


async def test_a_lost_race_is_retried_on_the_new_state(uow: UnitOfWork) -> None:
    await opened(uow)
    uow.relationships.lose_next_writes = 2  # type: ignore[attr-defined]
    plan = SessionPlan(starts_at=START + timedelta(days=2), minutes=30)
    session = await actions.schedule_session(uow, "m-1", MENTEE, plan, None)
    assert session.status == "scheduled"
    assert published(uow) == ["relationship.session_scheduled"]


async def test_a_mentees_poor_fit_publishes_fit_declined(uow: UnitOfWork) -> None:
    await opened(uow)
    uow.clock.set(START + timedelta(days=3))  # type: ignore[attr-defined]
    plan = SessionPlan(starts_at=START + timedelta(days=2), minutes=30)
    await actions.schedule_session(uow, "m-1", MENTEE, plan, LogEntry(happened=True))
    await actions.give_feedback(uow, "m-1", MENTEE, "fit", FeedbackAnswer(fit="poor"), None)
    assert published(uow)[-2:] == ["relationship.feedback_submitted", "relationship.fit_declined"]
    with pytest.raises(Refused):
        await actions.give_feedback(uow, "m-1", MENTEE, "fit", FeedbackAnswer(fit="good"), None)
    requests = await queries.open_requests_of(uow, MENTOR)
    assert sorted(r.request.request_id for r in requests) == ["fit:1:mentor", "session:s1:mentor"]


async def test_private_notes_are_read_by_their_author_only(uow: UnitOfWork) -> None:
    await opened(uow)
    plan = SessionPlan(starts_at=START + timedelta(days=2), minutes=30)
    session = await actions.schedule_session(uow, "m-1", MENTEE, plan, None)
    await actions.write_private_note(uow, "m-1", MENTEE, session.session_id, "mine")
    await actions.write_private_note(uow, "m-1", MENTOR, session.session_id, "his")

    as_mentee = await queries.view_relationship(uow, "m-1", party(MENTEE))
    as_admin = await queries.view_relationship(
        uow, "m-1", queries.Viewer("admin-1", frozenset({"program_admin"}))
    )

    assert as_mentee.sessions[0].private_notes == {MENTEE: "mine"}
    assert as_admin.sessions[0].private_notes == {}
    with pytest.raises(Forbidden):
        await queries.view_relationship(uow, "m-1", party("intruder"))


async def test_the_end_cancels_sessions_ahead_and_opens_the_final_assessment(uow: UnitOfWork) -> None:
    await opened(uow)
    plan = SessionPlan(starts_at=START + timedelta(days=2), minutes=30)
    await actions.schedule_session(uow, "m-1", MENTEE, plan, None)
    ended = MentorshipEnded(**PAIR, status="ended", reason="completed", ended_at=START)
    await lifecycle.close_relationship(uow, ended, event_id="e-ended")
    await lifecycle.close_relationship(uow, ended, event_id="e-ended")  # redelivered

    assert published(uow)[1:] == [
        "relationship.session_cancelled",
        "relationship.feedback_requested",
        "relationship.feedback_requested",
    ]
    shown = await queries.view_relationship(uow, "m-1", party(MENTEE))
    assert (shown.status, [r.request_id for r in shown.open_requests(MENTEE)]) == ("closed", ["final:mentee"])


async def test_due_steps_happen_once_even_when_a_replica_wins_the_write(uow: UnitOfWork) -> None:
    await opened(uow)
    uow.clock.set(START + timedelta(days=7))  # type: ignore[attr-defined]
    uow.claims.held_elsewhere.add("m-1")  # type: ignore[attr-defined]
    assert await take_due_steps(uow) == 0  # another replica claimed this version's steps
    uow.claims.held_elsewhere.clear()  # type: ignore[attr-defined]
    uow.relationships.lose_next_writes = 1  # type: ignore[attr-defined]
    assert await take_due_steps(uow) == 0  # claimed, but another writer won: planned again next pass
    assert await take_due_steps(uow) == 1
    assert await take_due_steps(uow) == 0
    assert published(uow) == ["relationship.reminder_due"]


async def test_a_replica_whose_clock_is_behind_takes_nothing_back(uow: UnitOfWork) -> None:
    await opened(uow)
    uow.clock.set(START + timedelta(days=91))  # type: ignore[attr-defined]
    assert await take_due_steps(uow) == 1  # the replica ahead: the pair went quiet (inactive)
    health = [e for e in uow.relationships.published if isinstance(e, RelationshipHealthChanged)]  # type: ignore[attr-defined]
    assert [e.health for e in health] == ["inactive"]
    before = len(published(uow))

    # A replica that still reads day 30 would see the pair merely at risk again; it plans and
    # writes at the last write's moment instead.
    uow.clock.set(START + timedelta(days=30))  # type: ignore[attr-defined]
    assert await take_due_steps(uow) == 0
    plan = SessionPlan(starts_at=START + timedelta(days=95), minutes=30)
    await actions.schedule_session(uow, "m-1", MENTEE, plan, None)
    written = published(uow)[before:]
    assert "relationship.health_changed" not in written and written == ["relationship.session_scheduled"]
    stored = await uow.relationships.get("m-1")
    assert stored is not None and stored.relationship.health == "inactive"
    assert stored.relationship.decided_at == START + timedelta(days=91)


async def test_erasure_removes_notes_and_comments_and_the_feed_secret(uow: UnitOfWork) -> None:
    await opened(uow)
    profile = ProfileRegistered(employee_id=MENTEE, version=1, status="active", email="me@example.com")
    await lifecycle.record_profile(uow, profile, event_id="p1")
    secret = await queries.feed_secret(uow, MENTEE)
    assert await queries.feed_secret_matches(uow, MENTEE, secret)
    rotated = await queries.feed_secret(uow, MENTEE, rotate=True)
    assert rotated != secret and not await queries.feed_secret_matches(uow, MENTEE, secret)
    plan = SessionPlan(starts_at=START + timedelta(days=2), minutes=30)
    session = await actions.schedule_session(uow, "m-1", MENTEE, plan, None)
    await actions.write_private_note(uow, "m-1", MENTEE, session.session_id, "mine")

    await lifecycle.record_profile(
        uow, ProfileErased(employee_id=MENTEE, version=2, status="erased"), event_id="p2"
    )

    stored = await uow.relationships.get("m-1")
    assert stored is not None and stored.relationship.sessions[0].private_notes == {}
    assert not await queries.feed_secret_matches(uow, MENTEE, rotated)


async def test_the_end_withdraws_what_is_still_open(uow: UnitOfWork) -> None:
    await opened(uow)
    uow.clock.set(START + timedelta(days=3))  # type: ignore[attr-defined]
    plan = SessionPlan(starts_at=START + timedelta(days=2), minutes=30)
    await actions.schedule_session(uow, "m-1", MENTEE, plan, LogEntry(happened=True))
    ended = MentorshipEnded(**PAIR, status="ended", reason="not_a_fit", ended_at=START)
    await lifecycle.close_relationship(uow, ended, event_id="e-ended")

    assert [r.request.request_id for r in await queries.open_requests_of(uow, MENTEE)] == ["final:mentee"]
    with pytest.raises(Refused) as closed:
        await actions.give_feedback(uow, "m-1", MENTEE, "session", FeedbackAnswer(session_rating=3), None)
    assert closed.value.reason == "relationship_closed"
    stored = await uow.relationships.get("m-1")
    assert stored is not None
    assert {r.request_id for r in stored.relationship.feedback if r.withdrawn_at} == {
        "session:s1:mentee",
        "session:s1:mentor",
        "fit:1:mentee",
        "fit:1:mentor",
    }


async def test_admins_see_a_table_and_nothing_of_a_confidential_agreement(uow: UnitOfWork) -> None:
    await opened(uow)
    await actions.draft_agreement(
        uow, "m-1", MENTEE, {"expectations": "private matters", "confidential": True}
    )
    uow.clock.set(START + timedelta(days=3))  # type: ignore[attr-defined]
    plan = SessionPlan(starts_at=START + timedelta(days=2), minutes=30)
    await actions.schedule_session(uow, "m-1", MENTEE, plan, LogEntry(happened=True, notes="talked about x"))
    await actions.give_feedback(uow, "m-1", MENTOR, "fit", FeedbackAnswer(fit="poor"), None)
    await actions.give_feedback(uow, "m-1", MENTOR, "session", FeedbackAnswer(session_rating=3), None)
    admin = queries.Viewer("admin-1", frozenset({"program_admin"}))

    shown = await queries.view_relationship(uow, "m-1", admin)
    (row,) = await queries.list_relationships(uow, program_id="p-1", status="open", health=None)

    assert shown.agreement.versions[0].terms.expectations is None
    assert shown.sessions[0].log is not None and shown.sessions[0].log.notes is None
    own = await queries.view_relationship(uow, "m-1", party(MENTEE))
    assert own.agreement.versions[0].terms.expectations == "private matters"
    assert (row.sessions_held, row.fit, row.mean_session_rating, row.open_requests) == (
        1,
        {"mentor": "poor"},
        3.0,
        2,
    )
    assert await queries.list_relationships(uow, program_id="p-2", status=None, health=None) == []
