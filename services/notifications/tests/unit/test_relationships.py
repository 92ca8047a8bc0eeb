"""``tandem.relationships`` events on the in-memory unit of work: who is told what, on which channel."""

import email
import email.policy
from datetime import timedelta
from email.message import EmailMessage

import pytest
from tandem_contracts import (
    EventData,
    RelationshipAgreementSigned,
    RelationshipAutoClosed,
    RelationshipFeedbackRequested,
    RelationshipFeedbackSubmitted,
    RelationshipFitDeclined,
    RelationshipHealthChanged,
    RelationshipNudged,
    RelationshipOutcomeRecorded,
    RelationshipReminderDue,
    RelationshipSessionCancelled,
    RelationshipSessionLogged,
    RelationshipSessionRescheduled,
    RelationshipSessionScheduled,
)
from tandem_contracts.profiles import NotificationPreferences
from tandem_notifications.adapters.smtp import SmtpSender
from tandem_notifications.domain.webhook import Webhook

from .fakes import T0, Fakes, fakes
from .test_use_cases import consume, events, keys, registered

pytestmark = pytest.mark.unit

PAIR = {"mentorship_id": "m-1", "mentor_id": "mentor", "mentee_id": "mentee", "program_id": "p-1"}
STARTS = T0 + timedelta(days=3)


def ics(method: str, sequence: int = 0) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Tandem//relationships//EN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        "UID:session-s-1@tandem",
        f"SEQUENCE:{sequence}",
        "DTSTART:20260108T090000Z",
        "DURATION:PT45M",
        "SUMMARY:Mentoring session",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


def session(model: type, method: str = "REQUEST", **extra: object) -> EventData:
    fields = PAIR | {"session_id": "s-1", "starts_at": STARTS, "minutes": 45, "ics": ics(method)}
    return model.model_validate(fields | extra)  # type: ignore[no-any-return, attr-defined]


async def people(f: Fakes, *ids: str, **extra: object) -> None:
    await consume(f, "profiles", *events(*(registered(i, **extra) for i in ids)))


def relationship(f: Fakes) -> set[tuple[str, str, str]]:
    """The deliveries of relationship kinds (the welcome messages left out)."""
    return {k for k in keys(f) if k[0] not in {"welcome", "complete_profile"}}


def parsed(f: Fakes, delivery_id: str) -> EmailMessage:
    delivery = f.deliveries.stored[delivery_id]
    message = SmtpSender(f.uow.settings).compose_bytes(delivery)
    result = email.message_from_bytes(message, policy=email.policy.default)
    assert isinstance(result, EmailMessage)
    return result


async def test_a_scheduled_session_emails_both_parties_the_invitation_and_tells_their_inbox_once():
    f = fakes()
    await people(f, "mentor", "mentee")
    scheduled = events(session(RelationshipSessionScheduled, location="Room 4"))
    await consume(f, "relationships", *scheduled)
    assert relationship(f) == {
        ("session_scheduled", person, channel)
        for person in ("mentor", "mentee")
        for channel in ("email", "inapp")
    }
    recorded = dict(f.deliveries.stored)
    await consume(f, "relationships", *scheduled, *scheduled)
    assert f.deliveries.stored == recorded, "a redelivered event records nothing new"

    event_id = scheduled[0][0].id
    for person in ("mentor", "mentee"):
        email_delivery = f.deliveries.stored[f"{event_id}:{person}:email"]
        assert email_delivery.attachment is not None
        assert email_delivery.attachment.content_type == "text/calendar; method=REQUEST"
        assert f.deliveries.stored[f"{event_id}:{person}:inapp"].attachment is None
        message = parsed(f, email_delivery.id)
        [calendar] = [
            part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"
        ]
        assert calendar.get_param("method") == "REQUEST"
        assert "UID:session-s-1@tandem" in calendar.get_content()
        assert "Room 4" in (message.get_body(("plain",)) or message).get_content()
    mentee_mail = f.deliveries.stored[f"{event_id}:mentee:email"]
    assert mentee_mail.subject == "Session with Person mentor scheduled"


async def test_a_reschedule_and_a_cancellation_carry_request_and_cancel_invitations():
    f = fakes()
    await people(f, "mentor", "mentee")
    [moved] = events(session(RelationshipSessionRescheduled, sequence=1, ics=ics("REQUEST", 1)))
    [cancelled] = events(session(RelationshipSessionCancelled, "CANCEL", sequence=2))
    await consume(f, "relationships", moved, cancelled)
    moved_mail = f.deliveries.stored[f"{moved[0].id}:mentor:email"]
    cancel_mail = f.deliveries.stored[f"{cancelled[0].id}:mentee:email"]
    assert moved_mail.kind == "session_rescheduled" and moved_mail.attachment is not None
    assert moved_mail.attachment.content_type == "text/calendar; method=REQUEST"
    assert cancel_mail.kind == "session_cancelled" and cancel_mail.attachment is not None
    assert cancel_mail.attachment.content_type == "text/calendar; method=CANCEL"
    [part] = list(parsed(f, cancel_mail.id).iter_attachments())
    assert part.get_param("method") == "CANCEL" and "METHOD:CANCEL" in part.get_content()


async def test_a_session_without_an_ics_is_still_announced_by_email_without_attachment():
    f = fakes()
    await people(f, "mentor", "mentee")
    [sent] = events(session(RelationshipSessionScheduled, ics=None))
    await consume(f, "relationships", sent)
    mail = f.deliveries.stored[f"{sent[0].id}:mentor:email"]
    assert mail.attachment is None and not list(parsed(f, mail.id).iter_attachments())


async def test_reminders_go_to_the_recipients_the_event_names_only():
    f = fakes()
    await people(f, "mentor", "mentee")
    unsigned = RelationshipReminderDue.model_validate(
        PAIR | {"reminder_id": "r-1", "kind": "agreement_unsigned", "recipient_ids": ["mentee"], "due_at": T0}
    )
    upcoming = RelationshipReminderDue.model_validate(
        PAIR
        | {
            "reminder_id": "r-2",
            "kind": "session_upcoming",
            "recipient_ids": ["mentor", "mentee"],
            "session_id": "s-1",
            "starts_at": STARTS,
            "due_at": T0,
        }
    )
    batch = events(unsigned, upcoming)
    await consume(f, "relationships", *batch)
    await consume(f, "relationships", *batch)
    assert relationship(f) == {
        ("agreement_unsigned", "mentee", "email"),
        ("agreement_unsigned", "mentee", "inapp"),
        ("session_upcoming", "mentor", "email"),
        ("session_upcoming", "mentor", "inapp"),
        ("session_upcoming", "mentee", "email"),
        ("session_upcoming", "mentee", "inapp"),
    }
    assert len(f.deliveries.stored) == 6 + 4, "plus both welcome messages"


async def test_a_feedback_request_goes_to_its_respondent_with_a_link_to_answer_it():
    f = fakes()
    await people(f, "mentor", "mentee")
    request = RelationshipFeedbackRequested.model_validate(
        PAIR | {"request_id": "fr-9", "kind": "fit", "respondent_id": "mentee", "requested_at": T0}
    )
    [sent] = events(request)
    await consume(f, "relationships", sent, sent)
    assert relationship(f) == {
        ("feedback_requested", "mentee", "email"),
        ("feedback_requested", "mentee", "inapp"),
    }
    mail = f.deliveries.stored[f"{sent[0].id}:mentee:email"]
    assert "your pairing with Person mentor" in (mail.subject or "")
    assert "https://tandem.example/mentorships/m-1/feedback?request_id=fr-9" in (mail.text or "")
    assert "fr-9" in (mail.html or "")


async def test_a_health_change_nudges_the_pair_and_alerts_the_admins_once():
    f = fakes()
    await people(f, "mentor", "mentee", "admin")
    change = RelationshipHealthChanged.model_validate(
        PAIR
        | {
            "health": "inactive",
            "previous": "at_risk",
            "reasons": ["no_session"],
            "nudge_ids": ["mentor", "mentee"],
            "alert_admin_ids": ["admin", "admin"],
            "changed_at": T0,
        }
    )
    [sent] = events(change)
    await consume(f, "relationships", sent)
    await consume(f, "relationships", sent)
    assert relationship(f) == {
        ("relationship_nudge", "mentor", "email"),
        ("relationship_nudge", "mentor", "inapp"),
        ("relationship_nudge", "mentee", "email"),
        ("relationship_nudge", "mentee", "inapp"),
        ("relationship_alert", "admin", "email"),
        ("relationship_alert", "admin", "inapp"),
    }
    alert = next(
        d for d in f.deliveries.stored.values() if d.kind == "relationship_alert" and d.channel == "email"
    )
    assert alert.subject == "Mentorship of Person mentee is inactive"
    assert "no session" in (alert.text or "")


async def test_an_admins_nudge_reaches_both_parties_with_the_message_as_their_preferences_allow():
    f = fakes()
    await people(f, "mentor")
    await people(f, "mentee", notification_preferences=NotificationPreferences(channels={"email": False}))
    nudge = RelationshipNudged.model_validate(
        PAIR
        | {
            "nudge_id": "n-1",
            "recipient_ids": ["mentor", "mentee"],
            "sent_by": "admin",
            "message": "Time for <a session>?",
            "nudged_at": T0,
        }
    )
    [sent] = events(nudge)
    await consume(f, "relationships", sent)
    await consume(f, "relationships", sent)
    assert relationship(f) == {
        ("relationship_nudge", "mentor", "email"),
        ("relationship_nudge", "mentor", "inapp"),
        ("relationship_nudge", "mentee", "inapp"),
    }
    mail = next(
        d for d in f.deliveries.stored.values() if d.kind == "relationship_nudge" and d.channel == "email"
    )
    assert mail.subject == "Time to meet Person mentee again"
    assert "your program admin asks you and Person mentee" in (mail.text or "")
    assert "Their message: Time for <a session>?" in (mail.text or "")
    assert "Time for &lt;a session&gt;?" in (mail.html or "")


async def test_agreement_fit_auto_close_and_outcome_are_inbox_messages_and_logged_sessions_tell_nobody():
    f = fakes()
    await people(f, "mentor", "mentee")
    batch = events(
        RelationshipAgreementSigned.model_validate(
            PAIR
            | {
                "agreement_version": 2,
                "cadence": "biweekly",
                "session_minutes": 45,
                "end_date": "2026-07-01",
                "signed_at": T0,
            }
        ),
        RelationshipFitDeclined.model_validate(
            PAIR | {"declined_by": "mentee", "request_id": "fr-1", "declined_at": T0}
        ),
        RelationshipAutoClosed.model_validate(
            PAIR | {"inactive_days": 60, "last_activity_at": T0, "closed_at": T0}
        ),
        RelationshipOutcomeRecorded.model_validate(
            PAIR | {"goals_achieved": "partly", "would_recommend": 8, "sessions_held": 5, "recorded_at": T0}
        ),
        RelationshipSessionLogged.model_validate(
            PAIR
            | {
                "session_id": "s-1",
                "starts_at": T0,
                "happened": True,
                "minutes": 40,
                "logged_by": "mentor",
                "logged_at": T0,
            }
        ),
        RelationshipFeedbackSubmitted.model_validate(
            PAIR
            | {
                "request_id": "fr-2",
                "kind": "session",
                "respondent_role": "mentee",
                "session_rating": 3,
                "submitted_at": T0,
            }
        ),
    )
    await consume(f, "relationships", *batch)
    assert relationship(f) == {
        ("agreement_signed", "mentor", "inapp"),
        ("agreement_signed", "mentee", "inapp"),
        ("fit_declined", "mentee", "inapp"),
        ("relationship_auto_closed", "mentor", "inapp"),
        ("relationship_auto_closed", "mentee", "inapp"),
        ("outcome_recorded", "mentor", "inapp"),
        ("outcome_recorded", "mentee", "inapp"),
    }
    signed = next(d for d in f.deliveries.stored.values() if d.kind == "agreement_signed")
    assert "biweekly sessions of 45 minutes until 2026-07-01" in (signed.text or "")


async def test_webhooks_subscribed_to_a_relationship_type_get_it_without_the_ics():
    f = fakes()
    await people(f, "mentor", "mentee")
    hook = Webhook.new(
        url="https://hooks.example/x",
        secret="s" * 20,
        event_types=["relationship.session_scheduled", "relationship.health_changed"],
        created_by="admin",
        at=T0,
    )
    await f.webhooks.add(hook)
    await consume(f, "relationships", *events(session(RelationshipSessionScheduled)))
    [call] = f.deliveries.of(channel="webhook")
    assert "Mentorship m-1: session scheduled, session s-1: mentor mentor, mentee mentee" in (call.body or "")
    assert "VCALENDAR" not in (call.body or "")


async def test_muted_relationship_kinds_are_not_recorded_and_unknown_people_are_held_until_projected():
    f = fakes()
    quiet = NotificationPreferences(muted_types=["session_scheduled"])
    await people(f, "mentor", notification_preferences=quiet)
    [sent] = events(session(RelationshipSessionScheduled))
    await consume(f, "relationships", sent)
    assert relationship(f) == set(), "muted by the mentor; the mentee is not projected yet"
    assert [h.recipient_id for h in f.held.notices.values()] == ["mentee"]

    await people(f, "mentee")
    assert relationship(f) == {
        ("session_scheduled", "mentee", "email"),
        ("session_scheduled", "mentee", "inapp"),
    }
    released = f.deliveries.stored[f"{sent[0].id}:mentee:email"]
    assert released.attachment is not None and "UID:session-s-1@tandem" in released.attachment.content
    assert not f.held.notices


async def test_erasure_removes_the_invitation_with_the_rest_of_the_content():
    f = fakes()
    await people(f, "mentor", "mentee")
    await consume(f, "relationships", *events(session(RelationshipSessionScheduled)))
    await f.uow.deliveries.erase("mentee", at=T0)
    left = [d for d in f.deliveries.stored.values() if d.recipient_id == "mentee"]
    assert left and all(d.attachment is None and d.text is None for d in left)
