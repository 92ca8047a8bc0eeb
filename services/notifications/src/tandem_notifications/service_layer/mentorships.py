"""Use cases driven by ``tandem.mentorships`` and ``tandem.programs``."""

from datetime import timedelta

from tandem_contracts import CloudEvent, EventData, MentorshipSnapshot

from tandem_notifications.domain.kinds import intents_for
from tandem_notifications.domain.notices import Notice
from tandem_notifications.domain.reminders import CheckinSchedule, due_at
from tandem_notifications.service_layer.unit_of_work import UnitOfWork

__all__ = ["mentorship_changed", "program_notice"]

_FINAL = frozenset({"mentorship.ended", "mentorship.declined", "mentorship.expired"})


async def mentorship_changed(uow: UnitOfWork, event: CloudEvent, data: MentorshipSnapshot) -> Notice:
    """Start or stop the check-in schedule of the mentorship; what to tell the pair."""
    if event.type == "mentorship.accepted":
        started = data.accepted_at or event.time or uow.clock()
        interval = timedelta(days=uow.settings.checkin_days)
        schedule = CheckinSchedule(
            mentorship_id=data.mentorship_id,
            mentor_id=data.mentor_id,
            mentee_id=data.mentee_id,
            started_at=started,
            next_due_at=due_at(started, interval, 1),
        )
        await uow.reminders.start(schedule, version=data.version)
    elif event.type in _FINAL:
        await uow.reminders.stop(data.mentorship_id, version=data.version)
    return program_notice(event, data)


def program_notice(event: CloudEvent, data: EventData) -> Notice:
    """What an event tells the people it names, and the webhooks subscribed to its type."""
    return Notice(
        event.id, event.type, event.time, intents_for(event.type, data), data.model_dump(mode="json")
    )
