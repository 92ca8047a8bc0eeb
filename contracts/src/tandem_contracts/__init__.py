"""Tandem's event contracts: what goes over Kafka between services and from HR systems."""

from tandem_contracts import topics
from tandem_contracts.base import EventData
from tandem_contracts.cloudevents import (
    CloudEvent,
    KafkaRecord,
    MalformedEventError,
    decode,
    encode,
    new_event,
    parse_data,
)
from tandem_contracts.hr import EmployeeJoined, EmployeeLeft, EmployeeUpdated
from tandem_contracts.mentorships import (
    MentorshipAccepted,
    MentorshipDeclined,
    MentorshipEnded,
    MentorshipExpired,
    MentorshipProposed,
    MentorshipSnapshot,
)
from tandem_contracts.notifications import NotificationDelivered, NotificationFailed
from tandem_contracts.profiles import (
    ProfileDeactivated,
    ProfileErased,
    ProfileRegistered,
    ProfileSnapshot,
    ProfileUpdated,
)
from tandem_contracts.programs import ProgramCreated, RoundCompleted
from tandem_contracts.registry import EVENT_TYPES, EventType, UnknownEventTypeError, event_type
from tandem_contracts.relationships import (
    RelationshipAgreementSigned,
    RelationshipAutoClosed,
    RelationshipEvent,
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

__all__ = [
    "EVENT_TYPES",
    "CloudEvent",
    "EmployeeJoined",
    "EmployeeLeft",
    "EmployeeUpdated",
    "EventData",
    "EventType",
    "KafkaRecord",
    "MalformedEventError",
    "MentorshipAccepted",
    "MentorshipDeclined",
    "MentorshipEnded",
    "MentorshipExpired",
    "MentorshipProposed",
    "MentorshipSnapshot",
    "NotificationDelivered",
    "NotificationFailed",
    "ProfileDeactivated",
    "ProfileErased",
    "ProfileRegistered",
    "ProfileSnapshot",
    "ProfileUpdated",
    "ProgramCreated",
    "RelationshipAgreementSigned",
    "RelationshipAutoClosed",
    "RelationshipEvent",
    "RelationshipFeedbackRequested",
    "RelationshipFeedbackSubmitted",
    "RelationshipFitDeclined",
    "RelationshipHealthChanged",
    "RelationshipNudged",
    "RelationshipOutcomeRecorded",
    "RelationshipReminderDue",
    "RelationshipSessionCancelled",
    "RelationshipSessionLogged",
    "RelationshipSessionRescheduled",
    "RelationshipSessionScheduled",
    "RoundCompleted",
    "UnknownEventTypeError",
    "decode",
    "encode",
    "event_type",
    "new_event",
    "parse_data",
    "topics",
]
