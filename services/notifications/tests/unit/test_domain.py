"""Pure domain rules of notifications."""

from datetime import UTC, datetime, timedelta

import pytest
from tandem_contracts import MentorshipEnded, MentorshipProposed, ProfileRegistered, RoundCompleted
from tandem_notifications.domain.backoff import RetryPolicy
from tandem_notifications.domain.delivery import delivery_id, message_id
from tandem_notifications.domain.kinds import intents_for
from tandem_notifications.domain.preferences import Preferences
from tandem_notifications.domain.reminders import next_number
from tandem_notifications.domain.rendering import Renderer
from tandem_notifications.domain.signing import sign, verify

pytestmark = pytest.mark.unit


def test_a_request_notifies_only_the_mentor_and_a_round_proposal_notifies_both():
    request = MentorshipProposed(
        mentorship_id="m", mentor_id="a", mentee_id="b", status="proposed", origin="request"
    )
    assert [(i.kind, i.recipient_id) for i in intents_for("mentorship.proposed", request)] == [
        ("mentorship_requested", "a")
    ]
    round_ = request.model_copy(update={"origin": "round"})
    assert {i.recipient_id for i in intents_for("mentorship.proposed", round_)} == {"a", "b"}


def test_a_new_profile_gets_a_welcome_and_a_complete_your_profile_note_under_distinct_keys():
    intents = intents_for(
        "profile.registered", ProfileRegistered(employee_id="e", version=1, status="active")
    )
    assert [i.kind for i in intents] == ["welcome", "complete_profile"]
    assert len({i.source_id("ev") for i in intents}) == 2


def test_round_figures_go_to_each_admin_once():
    data = RoundCompleted(
        program_id="p", round_id="r", admin_ids=["x", "y", "x"], matched=1, unmatched=0, total_score=1
    )
    assert [i.recipient_id for i in intents_for("program.round_completed", data)] == ["x", "y"]


def test_muted_kinds_and_disabled_channels_are_not_sent():
    preferences = Preferences(channels={"inapp": False}, muted_types=frozenset({"welcome"}))
    assert preferences.channels_for("welcome") == []
    assert preferences.channels_for("mentorship_accepted") == ["email"]


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap():
    policy = RetryPolicy(max_attempts=4, initial_s=1, max_s=5)
    assert [policy.delay_s(n, rand=lambda: 1.0) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]
    assert policy.delay_s(3, rand=lambda: 0.0) == 2
    assert policy.exhausted(4) and not policy.exhausted(3)


def test_a_signature_verifies_and_a_tampered_or_replayed_one_does_not():
    header = sign("s3cret", b'{"text":"hi"}', 1_000)
    assert verify("s3cret", b'{"text":"hi"}', header, now=1_010)
    assert not verify("s3cret", b'{"text":"ho"}', header, now=1_010)
    assert not verify("s3cret", b'{"text":"hi"}', header, now=5_000)


def test_the_message_id_is_stable_per_delivery():
    key = delivery_id("ev", "e-1", "email")
    assert message_id(key, "Tandem <no-reply@t.example>") == message_id(key, "no-reply@t.example")
    assert message_id(key, "a@t.example") != message_id(delivery_id("ev", "e-2", "email"), "a@t.example")


def test_reminders_after_downtime_resume_at_the_next_slot_without_a_burst():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert next_number(start, timedelta(days=14), after=1, now=start + timedelta(days=15)) == 2
    assert next_number(start, timedelta(days=14), after=1, now=start + timedelta(days=60)) == 5


def test_an_ended_mentorship_mail_names_the_reason_and_escapes_html():
    rendered = Renderer(app_url="http://t").render(
        "mentorship_ended",
        {
            "recipient_name": "A",
            "counterpart_name": "<b>B</b>",
            "reason": "mentor_left",
            "role": "mentee",
        },
    )
    assert "your mentor has left" in rendered.text and "&lt;b&gt;B&lt;/b&gt;" in rendered.html
    assert (
        intents_for(
            "mentorship.ended",
            MentorshipEnded(
                mentorship_id="m", mentor_id="a", mentee_id="b", status="ended", reason="mentor_left"
            ),
        )[1].context["reason"]
        == "mentor_left"
    )
