"""Which notifications an event produces, for whom: pure, no I/O."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tandem_contracts import (
    EventData,
    MentorshipSnapshot,
    ProfileRegistered,
    RoundCompleted,
)

from tandem_notifications.domain.delivery import Attachment
from tandem_notifications.domain.reminders import CheckinSchedule

__all__ = [
    "CHECKIN_EVENT_TYPE",
    "CHECKIN_REMINDER",
    "KINDS",
    "RELATIONSHIP_KINDS",
    "Intent",
    "checkin_intents",
    "intents_for",
]

WELCOME: Final = "welcome"
COMPLETE_PROFILE: Final = "complete_profile"
MENTORSHIP_REQUESTED: Final = "mentorship_requested"
MENTORSHIP_PROPOSED: Final = "mentorship_proposed"
MENTORSHIP_ACCEPTED: Final = "mentorship_accepted"
MENTORSHIP_DECLINED: Final = "mentorship_declined"
MENTORSHIP_EXPIRED: Final = "mentorship_expired"
MENTORSHIP_ENDED: Final = "mentorship_ended"
ROUND_COMPLETED: Final = "round_completed"
CHECKIN_REMINDER: Final = "checkin_reminder"
CHECKIN_EVENT_TYPE: Final = "notifications.checkin_due"
# from tandem.relationships (see domain/relationships.py)
SESSION_SCHEDULED: Final = "session_scheduled"
SESSION_RESCHEDULED: Final = "session_rescheduled"
SESSION_CANCELLED: Final = "session_cancelled"
SESSION_UPCOMING: Final = "session_upcoming"
AGREEMENT_UNSIGNED: Final = "agreement_unsigned"
AGREEMENT_SIGNED: Final = "agreement_signed"
FEEDBACK_REQUESTED: Final = "feedback_requested"
RELATIONSHIP_NUDGE: Final = "relationship_nudge"
RELATIONSHIP_ALERT: Final = "relationship_alert"
FIT_DECLINED: Final = "fit_declined"
RELATIONSHIP_AUTO_CLOSED: Final = "relationship_auto_closed"
OUTCOME_RECORDED: Final = "outcome_recorded"

RELATIONSHIP_KINDS: Final = frozenset(
    {
        SESSION_SCHEDULED,
        SESSION_RESCHEDULED,
        SESSION_CANCELLED,
        SESSION_UPCOMING,
        AGREEMENT_UNSIGNED,
        AGREEMENT_SIGNED,
        FEEDBACK_REQUESTED,
        RELATIONSHIP_NUDGE,
        RELATIONSHIP_ALERT,
        FIT_DECLINED,
        RELATIONSHIP_AUTO_CLOSED,
        OUTCOME_RECORDED,
    }
)

KINDS: Final = frozenset(
    {
        WELCOME,
        COMPLETE_PROFILE,
        MENTORSHIP_REQUESTED,
        MENTORSHIP_PROPOSED,
        MENTORSHIP_ACCEPTED,
        MENTORSHIP_DECLINED,
        MENTORSHIP_EXPIRED,
        MENTORSHIP_ENDED,
        ROUND_COMPLETED,
        CHECKIN_REMINDER,
    }
    | RELATIONSHIP_KINDS
)

_OUTCOMES: Final = {
    "mentorship.accepted": MENTORSHIP_ACCEPTED,
    "mentorship.declined": MENTORSHIP_DECLINED,
    "mentorship.expired": MENTORSHIP_EXPIRED,
    "mentorship.ended": MENTORSHIP_ENDED,
}


@dataclass(frozen=True, slots=True)
class Intent:
    """One notification of ``kind`` for ``recipient_id``; ``counterpart_id`` is named in it.

    ``variant`` tells apart two notifications one event sends to the same recipient;
    ``channels`` narrows the personal channels (``None``: all the preferences allow);
    ``attachment`` goes with the email.
    """

    kind: str
    recipient_id: str
    context: Mapping[str, Any] = field(default_factory=dict)
    counterpart_id: str | None = None
    variant: str | None = None
    channels: tuple[str, ...] | None = None
    attachment: Attachment | None = None

    def source_id(self, event_id: str) -> str:
        return f"{event_id}#{self.variant}" if self.variant else event_id


def intents_for(event_type: str, data: EventData) -> list[Intent]:
    """The notifications ``data`` (of ``event_type``) causes, before preferences apply."""
    if event_type == "profile.registered" and isinstance(data, ProfileRegistered):
        return _registered(data)
    if event_type == "mentorship.proposed" and isinstance(data, MentorshipSnapshot):
        if data.origin == "request":
            return [_to(MENTORSHIP_REQUESTED, data, "mentor")]
        return [_to(MENTORSHIP_PROPOSED, data, "mentor"), _to(MENTORSHIP_PROPOSED, data, "mentee")]
    if event_type in _OUTCOMES and isinstance(data, MentorshipSnapshot):
        kind = _OUTCOMES[event_type]
        return [_to(kind, data, "mentor"), _to(kind, data, "mentee")]
    if event_type == "program.round_completed" and isinstance(data, RoundCompleted):
        context = data.model_dump(mode="json")
        return [Intent(ROUND_COMPLETED, admin, context) for admin in dict.fromkeys(data.admin_ids)]
    return []


def checkin_intents(schedule: CheckinSchedule, number: int) -> list[Intent]:
    """The ``number``-th check-in reminder of an active mentorship, to both of them."""
    base = {"mentorship_id": schedule.mentorship_id, "number": number}
    mentor, mentee = schedule.mentor_id, schedule.mentee_id
    return [
        Intent(CHECKIN_REMINDER, mentor, base | {"role": "mentor"}, counterpart_id=mentee),
        Intent(CHECKIN_REMINDER, mentee, base | {"role": "mentee"}, counterpart_id=mentor),
    ]


def _registered(profile: ProfileRegistered) -> list[Intent]:
    intents = [Intent(WELCOME, profile.employee_id, {})]
    missing = _missing_mentoring_fields(profile)
    if missing:
        intents.append(
            Intent(COMPLETE_PROFILE, profile.employee_id, {"missing": missing}, variant=COMPLETE_PROFILE)
        )
    return intents


def _missing_mentoring_fields(profile: ProfileRegistered) -> list[str]:
    missing = []
    if not profile.roles:
        missing.append("whether you want to mentor, be mentored, or both")
    if "mentor" in profile.roles and not profile.skills:
        missing.append("the skills you can share")
    if "mentee" in profile.roles and not profile.goals:
        missing.append("your learning goals")
    if not profile.interests:
        missing.append("your interests")
    return missing


def _to(kind: str, data: MentorshipSnapshot, role: str) -> Intent:
    recipient, counterpart = (
        (data.mentor_id, data.mentee_id) if role == "mentor" else (data.mentee_id, data.mentor_id)
    )
    context = data.model_dump(mode="json") | {"role": role}
    return Intent(kind, recipient, context, counterpart_id=counterpart)
