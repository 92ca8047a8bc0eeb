"""Which notifications a ``tandem.relationships`` event produces, for whom: pure, no I/O.

Sessions email both parties their iCalendar invitation (the event carries the ``.ics``) and
put a message in their inbox; reminders, feedback requests, nudges (a health change's, or a
program admin's ``relationship.nudged`` with its message) and alerts go to the people the event
names; the rest (agreement signed, fit declined, auto-closed, outcome) are inbox
messages. Types without a notice here (a logged session, submitted feedback) notify nobody
but the webhooks subscribed to them.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from tandem_contracts import EventData
from tandem_contracts.relationships import (
    RelationshipAgreementSigned,
    RelationshipAutoClosed,
    RelationshipEvent,
    RelationshipFeedbackRequested,
    RelationshipFitDeclined,
    RelationshipHealthChanged,
    RelationshipNudged,
    RelationshipOutcomeRecorded,
    RelationshipReminderDue,
    RelationshipSessionCancelled,
    RelationshipSessionRescheduled,
    RelationshipSessionScheduled,
)

from tandem_notifications.domain.delivery import Attachment
from tandem_notifications.domain.kinds import (
    AGREEMENT_SIGNED,
    AGREEMENT_UNSIGNED,
    FEEDBACK_REQUESTED,
    FIT_DECLINED,
    OUTCOME_RECORDED,
    RELATIONSHIP_ALERT,
    RELATIONSHIP_AUTO_CLOSED,
    RELATIONSHIP_NUDGE,
    SESSION_CANCELLED,
    SESSION_RESCHEDULED,
    SESSION_SCHEDULED,
    SESSION_UPCOMING,
    Intent,
)

__all__ = ["relationship_intents"]

INBOX_ONLY: Final = ("inapp",)
_SESSION_MODELS: Final = (
    RelationshipSessionScheduled,
    RelationshipSessionRescheduled,
    RelationshipSessionCancelled,
)
# the kind, and the invitation's method should its ics not state one
_SESSIONS: Final = {
    "relationship.session_scheduled": (SESSION_SCHEDULED, "REQUEST"),
    "relationship.session_rescheduled": (SESSION_RESCHEDULED, "REQUEST"),
    "relationship.session_cancelled": (SESSION_CANCELLED, "CANCEL"),
}
_INBOX: Final[dict[str, tuple[type[RelationshipEvent], str]]] = {
    "relationship.agreement_signed": (RelationshipAgreementSigned, AGREEMENT_SIGNED),
    "relationship.auto_closed": (RelationshipAutoClosed, RELATIONSHIP_AUTO_CLOSED),
    "relationship.outcome_recorded": (RelationshipOutcomeRecorded, OUTCOME_RECORDED),
}


def relationship_intents(event_type: str, data: EventData) -> list[Intent]:
    """The notifications ``data`` (of ``event_type``) causes, before preferences apply."""
    if not isinstance(data, RelationshipEvent):
        return []
    if event_type in _SESSIONS and isinstance(data, _SESSION_MODELS):
        kind, method = _SESSIONS[event_type]
        attachment = Attachment.calendar(data.ics, default_method=method) if data.ics else None
        return _to(kind, data, (data.mentor_id, data.mentee_id), attachment=attachment)
    if event_type in _INBOX:
        model, kind = _INBOX[event_type]
        if isinstance(data, model):
            return _to(kind, data, (data.mentor_id, data.mentee_id), channels=INBOX_ONLY)
    builder = _BUILDERS.get(event_type)
    return builder(data) if builder else []


def _reminder(data: EventData) -> list[Intent]:
    if not isinstance(data, RelationshipReminderDue):
        return []
    kind = SESSION_UPCOMING if data.kind == "session_upcoming" else AGREEMENT_UNSIGNED
    return _to(kind, data, data.recipient_ids)


def _feedback(data: EventData) -> list[Intent]:
    if not isinstance(data, RelationshipFeedbackRequested):
        return []
    return _to(FEEDBACK_REQUESTED, data, [data.respondent_id])


def _health(data: EventData) -> list[Intent]:
    if not isinstance(data, RelationshipHealthChanged):
        return []
    alerts = [
        Intent(
            RELATIONSHIP_ALERT, admin, _context(data, admin), counterpart_id=data.mentee_id, variant="alert"
        )
        for admin in dict.fromkeys(data.alert_admin_ids)
    ]
    return _to(RELATIONSHIP_NUDGE, data, data.nudge_ids) + alerts


def _nudged(data: EventData) -> list[Intent]:
    if not isinstance(data, RelationshipNudged):
        return []
    return _to(RELATIONSHIP_NUDGE, data, data.recipient_ids)


def _fit_declined(data: EventData) -> list[Intent]:
    if not isinstance(data, RelationshipFitDeclined):
        return []
    return _to(FIT_DECLINED, data, [data.declined_by], channels=INBOX_ONLY)


_BUILDERS: Final[dict[str, Callable[[EventData], list[Intent]]]] = {
    "relationship.reminder_due": _reminder,
    "relationship.feedback_requested": _feedback,
    "relationship.health_changed": _health,
    "relationship.fit_declined": _fit_declined,
    "relationship.nudged": _nudged,
}


def _to(
    kind: str,
    data: RelationshipEvent,
    recipients: Iterable[str],
    *,
    channels: tuple[str, ...] | None = None,
    attachment: Attachment | None = None,
) -> list[Intent]:
    """One intent per distinct recipient, naming the other party of the mentorship."""
    return [
        Intent(
            kind,
            person,
            _context(data, person),
            counterpart_id=data.mentee_id if person == data.mentor_id else data.mentor_id,
            channels=channels,
            attachment=attachment,
        )
        for person in dict.fromkeys(recipients)
    ]


def _context(data: RelationshipEvent, person: str) -> Mapping[str, Any]:
    """The event's fields for the templates (the ``.ics`` travels as the attachment instead)."""
    role = "mentor" if person == data.mentor_id else "mentee" if person == data.mentee_id else "admin"
    return data.model_dump(mode="json", exclude={"ics"}) | {"role": role}
