"""Health thresholds and the time-driven step planner, as pure functions of (state, now)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from tandem_contracts import (
    RelationshipAutoClosed,
    RelationshipFeedbackRequested,
    RelationshipHealthChanged,
    RelationshipReminderDue,
)
from tandem_relationships.domain.agreement import draft_agreement, sign_agreement
from tandem_relationships.domain.feedback import answer_feedback
from tandem_relationships.domain.health import assess_health
from tandem_relationships.domain.model import AgreementTerms, FeedbackAnswer, ProgramSettings, Relationship
from tandem_relationships.domain.sessions import LogEntry, SessionPlan, schedule_session
from tandem_relationships.domain.steps import apply_steps, due_steps

pytestmark = pytest.mark.unit

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MENTOR, MENTEE = "mentor-1", "mentee-1"
PROGRAM = ProgramSettings(program_id="p-1", admin_ids=["admin-1"], auto_close_inactive_days=60)


def signed(relationship: Relationship, cadence: str = "weekly") -> None:
    terms = AgreementTerms.model_validate({"cadence": cadence, "end_date": date(2026, 9, 1)})
    draft_agreement(relationship, MENTEE, terms, START)
    sign_agreement(relationship, MENTEE, START)
    sign_agreement(relationship, MENTOR, START)


def take(relationship: Relationship, at: datetime, program: ProgramSettings | None = PROGRAM) -> list[object]:
    return apply_steps(relationship, due_steps(relationship, program, at), program, at)


def test_health_follows_the_cadence_the_agreement_and_the_pulse(relationship: Relationship) -> None:
    signed(relationship, "weekly")
    assert assess_health(relationship, START + timedelta(days=10)).health == "healthy"
    assert assess_health(relationship, START + timedelta(days=11)).reasons == [
        "no_session_within_1_5x_cadence"
    ]
    assert assess_health(relationship, START + timedelta(days=22)).health == "inactive"
    plan = SessionPlan(starts_at=START + timedelta(days=20), minutes=30)
    schedule_session(
        relationship, MENTEE, "s1", plan, START + timedelta(days=21), log=LogEntry(happened=True)
    )
    assert assess_health(relationship, START + timedelta(days=22)).health == "healthy"


def test_an_unsigned_agreement_puts_a_pair_at_risk_after_14_days(relationship: Relationship) -> None:
    plan = SessionPlan(starts_at=START + timedelta(days=14), minutes=30)
    schedule_session(
        relationship, MENTEE, "s1", plan, START + timedelta(days=15), log=LogEntry(happened=True)
    )
    verdict = assess_health(relationship, START + timedelta(days=15))
    assert (verdict.health, verdict.reasons) == ("at_risk", ["agreement_unsigned"])


def test_a_low_pulse_puts_a_pair_at_risk(relationship: Relationship) -> None:
    signed(relationship, "monthly")
    take(relationship, START + timedelta(days=30))
    answer_feedback(relationship, MENTEE, "pulse", FeedbackAnswer(satisfaction=2), START + timedelta(days=30))
    assert assess_health(relationship, START + timedelta(days=31)).reasons == ["low_pulse"]


def test_the_agreement_reminder_goes_once_to_whoever_has_not_signed(relationship: Relationship) -> None:
    terms = AgreementTerms.model_validate({"end_date": date(2026, 9, 1)})
    draft_agreement(relationship, MENTEE, terms, START)
    sign_agreement(relationship, MENTEE, START)
    assert take(relationship, START + timedelta(days=6)) == []

    (reminder,) = take(relationship, START + timedelta(days=7))

    assert isinstance(reminder, RelationshipReminderDue)
    assert (reminder.kind, reminder.recipient_ids) == ("agreement_unsigned", [MENTOR])
    assert take(relationship, START + timedelta(days=7, hours=1)) == []


def test_a_session_reminder_24_hours_before_and_again_after_a_move(relationship: Relationship) -> None:
    signed(relationship)
    plan = SessionPlan(starts_at=START + timedelta(days=3), minutes=30)
    schedule_session(relationship, MENTEE, "s1", plan, START)
    assert take(relationship, START + timedelta(days=1)) == []
    (reminder,) = take(relationship, START + timedelta(days=2))
    assert isinstance(reminder, RelationshipReminderDue) and reminder.session_id == "s1"
    assert take(relationship, START + timedelta(days=2, hours=1)) == []
    relationship.sessions[0].sequence += 1  # moved
    assert [type(e) for e in take(relationship, START + timedelta(days=2, hours=2))] == [
        RelationshipReminderDue
    ]


def test_pulses_open_30_days_after_acceptance_then_every_60(relationship: Relationship) -> None:
    signed(relationship, "monthly")
    for day, expected in [
        (29, []),
        (30, ["pulse:1:mentor", "pulse:1:mentee"]),
        (31, []),
        (90, ["pulse:2:mentor", "pulse:2:mentee"]),
    ]:
        at = START + timedelta(days=day)
        # a session every few days keeps the pair healthy: only the pulse is due
        plan = SessionPlan(starts_at=at - timedelta(hours=2), minutes=30)
        schedule_session(relationship, MENTEE, f"s{day}", plan, at, log=LogEntry(happened=True))
        events = take(relationship, at)
        assert [e.request_id for e in events if isinstance(e, RelationshipFeedbackRequested)] == expected


def test_health_changes_nudge_the_pair_then_alert_admins_then_auto_close(relationship: Relationship) -> None:
    signed(relationship, "biweekly")
    (at_risk,) = [
        e for e in take(relationship, START + timedelta(days=22)) if isinstance(e, RelationshipHealthChanged)
    ]
    assert (at_risk.health, at_risk.nudge_ids, at_risk.alert_admin_ids) == ("at_risk", [MENTOR, MENTEE], [])
    assert not [
        e for e in take(relationship, START + timedelta(days=23)) if isinstance(e, RelationshipHealthChanged)
    ]
    events = take(relationship, START + timedelta(days=43))
    (inactive,) = [e for e in events if isinstance(e, RelationshipHealthChanged)]
    assert (inactive.health, inactive.alert_admin_ids) == ("inactive", ["admin-1"])
    assert not [
        e for e in take(relationship, START + timedelta(days=59)) if isinstance(e, RelationshipAutoClosed)
    ]
    closing = [
        e for e in take(relationship, START + timedelta(days=60)) if isinstance(e, RelationshipAutoClosed)
    ]
    assert len(closing) == 1 and closing[0].inactive_days == 60
    assert not [
        e for e in take(relationship, START + timedelta(days=61)) if isinstance(e, RelationshipAutoClosed)
    ]


def test_no_auto_close_without_the_program_setting_and_no_steps_once_closed(
    relationship: Relationship,
) -> None:
    signed(relationship)
    assert not [
        e
        for e in take(relationship, START + timedelta(days=90), None)
        if isinstance(e, RelationshipAutoClosed)
    ]
    relationship.status = "closed"
    assert due_steps(relationship, PROGRAM, START + timedelta(days=400)) == []
