"""Check-in reminders: a scheduler pass records the due reminders, then moves each schedule on.

The reminder's delivery ids derive from (mentorship, reminder number), so a pass repeated after
a crash, or run by two replicas at once, records nothing twice.
"""

from datetime import datetime, timedelta

from tandem_notifications.domain.kinds import CHECKIN_EVENT_TYPE, checkin_intents
from tandem_notifications.domain.notices import Notice
from tandem_notifications.domain.reminders import CheckinSchedule, checkin_event_id, due_at, next_number
from tandem_notifications.service_layer.notify import record_notices
from tandem_notifications.service_layer.unit_of_work import UnitOfWork

__all__ = ["checkin_notice", "send_due_reminders"]


def checkin_notice(schedule: CheckinSchedule, number: int, interval: timedelta) -> Notice:
    """The ``number``-th check-in reminder of ``schedule``, to both of the pair."""
    return Notice(
        checkin_event_id(schedule.mentorship_id, number),
        CHECKIN_EVENT_TYPE,
        due_at(schedule.started_at, interval, number),
        checkin_intents(schedule, number),
    )


async def send_due_reminders(uow: UnitOfWork, *, now: datetime | None = None) -> int:
    """Record every reminder due at ``now``; returns how many schedules moved on."""
    now = now or uow.clock()
    interval = timedelta(days=uow.settings.checkin_days)
    moved = 0
    for schedule in await uow.reminders.due(now=now):
        number = schedule.next_number
        await record_notices(uow, [checkin_notice(schedule, number, interval)])
        following = next_number(schedule.started_at, interval, after=number, now=now)
        if await uow.reminders.advance(
            schedule.mentorship_id,
            sent=number,
            next_number=following,
            next_due_at=due_at(schedule.started_at, interval, following),
        ):
            moved += 1
    return moved
