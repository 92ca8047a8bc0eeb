"""Use cases driven by ``tandem.mentorships`` and ``tandem.programs``."""

from datetime import UTC, datetime, timedelta

from tandem_contracts import EventData, MentorshipSnapshot

from tandem_notifications.adapters.reminders import ReminderRepository
from tandem_notifications.domain.kinds import intents_for
from tandem_notifications.domain.reminders import due_at
from tandem_notifications.service_layer.notify import Notice, Recorder

__all__ = ["mentorship_changed", "on_mentorship_changed", "on_program_event", "program_notice"]

_FINAL = frozenset({"mentorship.ended", "mentorship.declined", "mentorship.expired"})


async def mentorship_changed(
    data: MentorshipSnapshot,
    *,
    event_id: str,
    event_type: str,
    event_time: datetime | None,
    reminders: ReminderRepository,
    checkin_interval: timedelta,
) -> Notice:
    """Start or stop the check-in schedule of the mentorship; what to tell the pair."""
    if event_type == "mentorship.accepted":
        started = data.accepted_at or event_time or datetime.now(UTC)
        await reminders.start(
            data.mentorship_id,
            version=data.version,
            mentor_id=data.mentor_id,
            mentee_id=data.mentee_id,
            started_at=started,
            first_due=due_at(started, checkin_interval, 1),
        )
    elif event_type in _FINAL:
        await reminders.stop(data.mentorship_id, version=data.version)
    return Notice(
        event_id, event_type, event_time, intents_for(event_type, data), data.model_dump(mode="json")
    )


async def on_mentorship_changed(
    data: MentorshipSnapshot,
    *,
    event_id: str,
    event_type: str,
    event_time: datetime | None,
    reminders: ReminderRepository,
    recorder: Recorder,
    checkin_interval: timedelta,
) -> None:
    """Notify the pair, and start or stop the check-in schedule of an active mentorship."""
    notice = await mentorship_changed(
        data,
        event_id=event_id,
        event_type=event_type,
        event_time=event_time,
        reminders=reminders,
        checkin_interval=checkin_interval,
    )
    await recorder.record_many([notice])


def program_notice(data: EventData, *, event_id: str, event_type: str, event_time: datetime | None) -> Notice:
    return Notice(
        event_id, event_type, event_time, intents_for(event_type, data), data.model_dump(mode="json")
    )


async def on_program_event(
    data: EventData, *, event_id: str, event_type: str, event_time: datetime | None, recorder: Recorder
) -> None:
    await recorder.record_many(
        [program_notice(data, event_id=event_id, event_type=event_type, event_time=event_time)]
    )
