"""Which event types exist, on which topic, with which data model."""

from dataclasses import dataclass
from typing import Final

from tandem_contracts import topics
from tandem_contracts.base import EventData
from tandem_contracts.hr import EmployeeJoined, EmployeeLeft, EmployeeUpdated
from tandem_contracts.mentorships import (
    MentorshipAccepted,
    MentorshipDeclined,
    MentorshipEnded,
    MentorshipExpired,
    MentorshipProposed,
)
from tandem_contracts.notifications import NotificationDelivered, NotificationFailed
from tandem_contracts.profiles import (
    ProfileDeactivated,
    ProfileErased,
    ProfileRegistered,
    ProfileUpdated,
)
from tandem_contracts.programs import ProgramCreated, RoundCompleted
from tandem_contracts.relationships import (
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

__all__ = ["EVENT_TYPES", "EventType", "UnknownEventTypeError", "event_type", "type_of"]


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    topic: str
    model: type[EventData]
    key_field: str


class UnknownEventTypeError(ValueError):
    """The event's ``type`` is not one this contract defines (on that topic)."""


def _relationship(name: str, model: type[EventData]) -> EventType:
    return EventType(f"relationship.{name}", topics.RELATIONSHIPS, model, "mentorship_id")


_ALL: Final = (
    EventType("hr.employee.joined", topics.HR_EMPLOYEES, EmployeeJoined, "employee_id"),
    EventType("hr.employee.updated", topics.HR_EMPLOYEES, EmployeeUpdated, "employee_id"),
    EventType("hr.employee.left", topics.HR_EMPLOYEES, EmployeeLeft, "employee_id"),
    EventType("profile.registered", topics.PROFILES, ProfileRegistered, "employee_id"),
    EventType("profile.updated", topics.PROFILES, ProfileUpdated, "employee_id"),
    EventType("profile.deactivated", topics.PROFILES, ProfileDeactivated, "employee_id"),
    EventType("profile.erased", topics.PROFILES, ProfileErased, "employee_id"),
    EventType("mentorship.proposed", topics.MENTORSHIPS, MentorshipProposed, "mentorship_id"),
    EventType("mentorship.accepted", topics.MENTORSHIPS, MentorshipAccepted, "mentorship_id"),
    EventType("mentorship.declined", topics.MENTORSHIPS, MentorshipDeclined, "mentorship_id"),
    EventType("mentorship.expired", topics.MENTORSHIPS, MentorshipExpired, "mentorship_id"),
    EventType("mentorship.ended", topics.MENTORSHIPS, MentorshipEnded, "mentorship_id"),
    EventType("program.created", topics.PROGRAMS, ProgramCreated, "program_id"),
    EventType("program.round_completed", topics.PROGRAMS, RoundCompleted, "program_id"),
    EventType("notification.delivered", topics.NOTIFICATIONS, NotificationDelivered, "notification_id"),
    EventType("notification.failed", topics.NOTIFICATIONS, NotificationFailed, "notification_id"),
    EventType(
        "relationship.agreement_signed", topics.RELATIONSHIPS, RelationshipAgreementSigned, "mentorship_id"
    ),
    EventType(
        "relationship.session_scheduled", topics.RELATIONSHIPS, RelationshipSessionScheduled, "mentorship_id"
    ),
    EventType(
        "relationship.session_rescheduled",
        topics.RELATIONSHIPS,
        RelationshipSessionRescheduled,
        "mentorship_id",
    ),
    EventType(
        "relationship.session_cancelled", topics.RELATIONSHIPS, RelationshipSessionCancelled, "mentorship_id"
    ),
    EventType(
        "relationship.session_logged", topics.RELATIONSHIPS, RelationshipSessionLogged, "mentorship_id"
    ),
    EventType(
        "relationship.feedback_requested",
        topics.RELATIONSHIPS,
        RelationshipFeedbackRequested,
        "mentorship_id",
    ),
    EventType(
        "relationship.feedback_submitted",
        topics.RELATIONSHIPS,
        RelationshipFeedbackSubmitted,
        "mentorship_id",
    ),
    EventType(
        "relationship.health_changed", topics.RELATIONSHIPS, RelationshipHealthChanged, "mentorship_id"
    ),
    _relationship("fit_declined", RelationshipFitDeclined),
    _relationship("auto_closed", RelationshipAutoClosed),
    _relationship("reminder_due", RelationshipReminderDue),
    _relationship("nudged", RelationshipNudged),
    EventType(
        "relationship.outcome_recorded", topics.RELATIONSHIPS, RelationshipOutcomeRecorded, "mentorship_id"
    ),
)

EVENT_TYPES: Final[dict[str, EventType]] = {t.name: t for t in _ALL}
_BY_MODEL: Final[dict[type[EventData], EventType]] = {t.model: t for t in _ALL}


def event_type(name: str, *, topic: str | None = None) -> EventType:
    """The registered type ``name``; raises :class:`UnknownEventTypeError`."""
    found = EVENT_TYPES.get(name)
    if found is None or (topic is not None and found.topic != topic):
        where = f" on topic {topic!r}" if topic else ""
        raise UnknownEventTypeError(f"unknown event type {name!r}{where}")
    return found


def type_of(data: EventData) -> EventType:
    """The registered type whose model ``data`` is an instance of."""
    return _BY_MODEL[type(data)]
