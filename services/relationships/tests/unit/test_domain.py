"""The relationship's rules, pure: agreement versions, sessions, goals, feedback, erasure."""

from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar
from tandem_contracts import (
    RelationshipAgreementSigned,
    RelationshipFeedbackRequested,
    RelationshipFeedbackSubmitted,
    RelationshipFitDeclined,
    RelationshipOutcomeRecorded,
    RelationshipSessionCancelled,
    RelationshipSessionLogged,
    RelationshipSessionRescheduled,
    RelationshipSessionScheduled,
)
from tandem_relationships.domain.agreement import draft_agreement, sign_agreement
from tandem_relationships.domain.calendar import Attendee, render_feed, render_invitation
from tandem_relationships.domain.errors import Forbidden, Invalid, NotFound, Refused
from tandem_relationships.domain.feedback import answer_feedback, open_final
from tandem_relationships.domain.goals import update_progress
from tandem_relationships.domain.model import AgreementTerms, FeedbackAnswer, GoalDraft, Relationship
from tandem_relationships.domain.privacy import erase_person
from tandem_relationships.domain.sessions import (
    LogEntry,
    SessionPlan,
    cancel_session,
    log_session,
    reschedule_session,
    schedule_session,
    write_private_note,
)

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.unit

MENTOR, MENTEE = "mentor-1", "mentee-1"


def terms(**changes: object) -> AgreementTerms:
    values: dict[str, object] = {
        "goals": [GoalDraft(name="Public speaking", current_level=2, target_level=4)],
        "expectations": "meet every other week",
        "cadence": "biweekly",
        "session_minutes": 45,
        "end_date": date(2026, 9, 1),
    }
    return AgreementTerms.model_validate(values | changes)


def held(relationship: Relationship, session_id: str = "s1", at_days: int = -1) -> list[object]:
    now = START + timedelta(days=max(at_days, 0) + 2)
    plan = SessionPlan(starts_at=START + timedelta(days=max(at_days, 0) + 1), minutes=45)
    return schedule_session(relationship, MENTEE, session_id, plan, now, log=LogEntry(happened=True))


def test_the_agreement_is_signed_when_both_sign_the_same_version_and_a_change_needs_both_again(
    relationship: Relationship,
) -> None:
    assert draft_agreement(relationship, MENTEE, terms(), START) == []
    assert sign_agreement(relationship, MENTEE, START) == []
    (signed,) = sign_agreement(relationship, MENTOR, START, version=1)
    assert isinstance(signed, RelationshipAgreementSigned)
    assert (signed.agreement_version, signed.cadence, signed.goals[0].goal_id) == (
        1,
        "biweekly",
        "public-speaking",
    )

    draft_agreement(relationship, MENTOR, terms(cadence="weekly"), START)

    assert relationship.agreement.current is not None and relationship.agreement.current.version == 2
    assert not relationship.agreement_signed
    with pytest.raises(Refused) as stale:
        sign_agreement(relationship, MENTEE, START, version=1)
    assert stale.value.reason == "stale_version"
    sign_agreement(relationship, MENTEE, START, version=2)
    (again,) = sign_agreement(relationship, MENTOR, START)
    assert isinstance(again, RelationshipAgreementSigned) and again.agreement_version == 2


def test_an_unsigned_draft_is_edited_in_place_and_goal_progress_survives_versions(
    relationship: Relationship,
) -> None:
    draft_agreement(relationship, MENTEE, terms(), START)
    draft_agreement(relationship, MENTEE, terms(session_minutes=60), START)
    assert [v.version for v in relationship.agreement.versions] == [1]
    update_progress(relationship, MENTOR, "public-speaking", 40, "first talk given", START)
    sign_agreement(relationship, MENTEE, START)
    draft_agreement(relationship, MENTEE, terms(cadence="monthly"), START)

    goal = relationship.goal("public-speaking")
    assert [v.version for v in relationship.agreement.versions] == [1, 2]
    assert (goal.progress, [u.note for u in goal.history]) == (40, ["first talk given"])


def test_only_the_parties_draft_and_bad_terms_are_refused(relationship: Relationship) -> None:
    with pytest.raises(Forbidden):
        draft_agreement(relationship, "intruder", terms(), START)
    with pytest.raises(Invalid) as past:
        draft_agreement(relationship, MENTEE, terms(end_date=date(2026, 1, 1)), START)
    assert past.value.reason == "end_date_in_past"
    twice = [GoalDraft(name="Python", current_level=1, target_level=3)] * 2
    with pytest.raises(Invalid):
        draft_agreement(relationship, MENTEE, terms(goals=twice), START)
    with pytest.raises(Refused):
        sign_agreement(relationship, MENTEE, START)  # nothing to sign yet


def test_a_session_is_scheduled_moved_with_a_higher_sequence_and_cancelled(
    relationship: Relationship,
) -> None:
    plan = SessionPlan(starts_at=START + timedelta(days=3), minutes=45, agenda="intro", location="Room 1")
    (scheduled,) = schedule_session(relationship, MENTEE, "s1", plan, START)
    assert isinstance(scheduled, RelationshipSessionScheduled) and scheduled.sequence == 0
    (moved,) = reschedule_session(relationship, MENTOR, "s1", {"starts_at": START + timedelta(days=4)}, START)
    assert isinstance(moved, RelationshipSessionRescheduled) and moved.sequence == 1
    assert reschedule_session(relationship, MENTOR, "s1", {"minutes": 45}, START) == []  # nothing changed
    (cancelled,) = cancel_session(relationship, MENTEE, "s1", START)
    assert isinstance(cancelled, RelationshipSessionCancelled) and cancelled.sequence == 2
    assert cancelled.ics is not None and "METHOD:CANCEL" in cancelled.ics
    with pytest.raises(Refused):
        log_session(relationship, MENTEE, "s1", LogEntry(happened=True), START + timedelta(days=5))


def test_the_past_is_only_logged_and_the_future_is_never_logged(relationship: Relationship) -> None:
    past = SessionPlan(starts_at=START - timedelta(hours=1), minutes=30)
    with pytest.raises(Invalid) as refused:
        schedule_session(relationship, MENTEE, "s1", past, START)
    assert refused.value.reason == "session_in_past"
    ahead = SessionPlan(starts_at=START + timedelta(hours=1), minutes=30)
    with pytest.raises(Invalid):
        schedule_session(relationship, MENTEE, "s1", ahead, START, log=LogEntry(happened=True))
    schedule_session(relationship, MENTEE, "s2", ahead, START)
    with pytest.raises(Invalid):
        log_session(relationship, MENTEE, "s2", LogEntry(happened=True), START)
    logged = log_session(relationship, MENTEE, "s2", LogEntry(happened=False), START + timedelta(hours=2))
    assert [type(e) for e in logged] == [RelationshipSessionLogged]  # not held: no feedback asked
    with pytest.raises(Refused) as twice:
        log_session(relationship, MENTOR, "s2", LogEntry(happened=True), START + timedelta(hours=2))
    assert twice.value.reason == "already_logged"


def test_a_held_session_asks_both_for_session_and_first_fit_feedback(relationship: Relationship) -> None:
    events = held(relationship)
    requested = sorted(e.request_id for e in events if isinstance(e, RelationshipFeedbackRequested))
    assert requested == ["fit:1:mentee", "fit:1:mentor", "session:s1:mentee", "session:s1:mentor"]
    assert isinstance(events[0], RelationshipSessionLogged)


def test_unsure_asks_fit_again_after_the_next_session_and_a_mentees_poor_declines(
    relationship: Relationship,
) -> None:
    held(relationship, "s1", 0)
    answer_feedback(relationship, MENTEE, "fit", FeedbackAnswer(fit="unsure"), START)
    answer_feedback(relationship, MENTOR, "fit", FeedbackAnswer(fit="good"), START)
    events = held(relationship, "s2", 3)
    fit_again = [
        e.request_id for e in events if isinstance(e, RelationshipFeedbackRequested) and e.kind == "fit"
    ]
    assert fit_again == ["fit:2:mentee"]

    _, declined = answer_feedback(relationship, MENTEE, "fit", FeedbackAnswer(fit="poor"), START)

    assert [type(e) for e in declined] == [RelationshipFeedbackSubmitted, RelationshipFitDeclined]


def test_a_mentors_poor_fit_is_recorded_without_declining(relationship: Relationship) -> None:
    held(relationship)
    request, events = answer_feedback(relationship, MENTOR, "fit", FeedbackAnswer(fit="poor"), START)
    assert [type(e) for e in events] == [RelationshipFeedbackSubmitted]
    assert request.answer is not None and request.answer.fit == "poor"


def test_feedback_nobody_asked_for_and_a_second_answer_are_refused(relationship: Relationship) -> None:
    with pytest.raises(Refused) as unasked:
        answer_feedback(relationship, MENTEE, "session", FeedbackAnswer(session_rating=3), START)
    assert unasked.value.reason == "not_requested"
    held(relationship)
    request, events = answer_feedback(
        relationship, MENTEE, "session", FeedbackAnswer(session_rating=3, comment="useful"), START
    )
    assert request.request_id == "session:s1:mentee"
    assert "comment" not in events[0].model_dump()
    with pytest.raises(Refused) as twice:
        answer_feedback(relationship, MENTEE, "session", FeedbackAnswer(session_rating=4), START)
    assert twice.value.reason == "already_answered"
    with pytest.raises(Refused):
        answer_feedback(
            relationship,
            MENTEE,
            "session",
            FeedbackAnswer(session_rating=4),
            START,
            request_id="session:s1:mentee",
        )
    with pytest.raises(Forbidden):
        answer_feedback(
            relationship,
            MENTEE,
            "session",
            FeedbackAnswer(session_rating=4),
            START,
            request_id="session:s1:mentor",
        )
    with pytest.raises(Invalid) as incomplete:
        answer_feedback(relationship, MENTOR, "session", FeedbackAnswer(), START)
    assert incomplete.value.reason == "incomplete_answer"


def test_the_mentees_final_answer_is_the_outcome_with_level_gains(relationship: Relationship) -> None:
    draft_agreement(relationship, MENTEE, terms(), START)
    held(relationship)
    relationship.status = "closed"
    open_final(relationship, START)
    answer_feedback(
        relationship, MENTOR, "final", FeedbackAnswer(goals_achieved="partly", would_recommend=7), START
    )
    with pytest.raises(Invalid):
        answer_feedback(
            relationship,
            MENTEE,
            "final",
            FeedbackAnswer(goals_achieved="yes", would_recommend=9, goal_levels={"cooking": 3}),
            START,
        )
    _, events = answer_feedback(
        relationship,
        MENTEE,
        "final",
        FeedbackAnswer(goals_achieved="yes", would_recommend=9, goal_levels={"public-speaking": 4}),
        START,
    )
    outcome = events[-1]
    assert isinstance(outcome, RelationshipOutcomeRecorded)
    assert (outcome.level_gains, outcome.would_recommend, outcome.mentor_would_recommend) == (
        {"Public speaking": 2},
        9,
        7,
    )
    assert outcome.sessions_held == 1
    with pytest.raises(Refused):  # a closed relationship takes final feedback only
        answer_feedback(relationship, MENTEE, "session", FeedbackAnswer(session_rating=2), START)


def test_private_notes_and_erasure(relationship: Relationship) -> None:
    draft_agreement(relationship, MENTEE, terms(), START)
    held(relationship)
    write_private_note(relationship, MENTEE, "s1", "nervous about it")
    write_private_note(relationship, MENTOR, "s1", "give more examples")
    answer_feedback(
        relationship, MENTEE, "session", FeedbackAnswer(session_rating=2, comment="too fast"), START
    )
    with pytest.raises(NotFound):
        write_private_note(relationship, MENTEE, "nope", "x")

    assert erase_person(relationship, MENTEE)

    session = relationship.session("s1")
    assert session.private_notes == {MENTOR: "give more examples"}
    assert relationship.agreement.versions[0].terms.expectations is None
    answered = [r for r in relationship.feedback if r.answer is not None]
    assert [(r.respondent_id, r.answer.session_rating, r.answer.comment) for r in answered if r.answer] == [
        ("erased", 2, None)
    ]
    assert not erase_person(relationship, MENTEE)  # twice changes nothing


def test_the_invitation_keeps_its_uid_and_raises_its_sequence(relationship: Relationship) -> None:
    plan = SessionPlan(starts_at=START + timedelta(days=3), minutes=45, location="https://meet.example/x")
    schedule_session(relationship, MENTEE, "s1", plan, START)
    people = [Attendee(MENTOR, "mentor@example.com", "Mo"), Attendee(MENTEE, "mentee@example.com", "Me")]
    first = Calendar.from_ical(render_invitation(relationship, relationship.session("s1"), people))
    reschedule_session(relationship, MENTEE, "s1", {"starts_at": START + timedelta(days=5)}, START)
    second = Calendar.from_ical(render_invitation(relationship, relationship.session("s1"), people))

    (one,), (two,) = first.walk("VEVENT"), second.walk("VEVENT")
    assert first["METHOD"] == "REQUEST"
    assert one["UID"] == two["UID"] == "s1@tandem.relationships"
    assert (int(one["SEQUENCE"]), int(two["SEQUENCE"])) == (0, 1)
    assert two.decoded("DTSTART") == START + timedelta(days=5)
    assert sorted(str(a) for a in one.get("ATTENDEE")) == [
        "mailto:mentee@example.com",
        "mailto:mentor@example.com",
    ]
    feed = Calendar.from_ical(render_feed(MENTEE, [(relationship, relationship.session("s1"))]))
    assert "METHOD" not in feed and len(feed.walk("VEVENT")) == 1
