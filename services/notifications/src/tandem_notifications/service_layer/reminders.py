"""Check-in reminders: a scheduler pass records the due reminders, then moves each schedule on.

The reminder's delivery ids derive from (mentorship, reminder number), so a pass repeated after
a crash, or run by two replicas at once, records nothing twice.
"""

from datetime import datetime, timedelta

from tandem_notifications.adapters.reminders import ReminderRepository
from tandem_notifications.domain.kinds import CHECKIN_EVENT_TYPE, checkin_intents
from tandem_notifications.domain.reminders import due_at, next_number
from tandem_notifications.service_layer.notify import Recorder

__all__ = ["checkin_event_id", "send_due_reminders"]


def checkin_event_id(mentorship_id: str, number: int) -> str:
    return f"checkin:{mentorship_id}:{number}"


async def send_due_reminders(
    *, reminders: ReminderRepository, recorder: Recorder, interval: timedelta, now: datetime
) -> int:
    """Record every reminder due at ``now``; returns how many schedules moved on."""
    moved = 0
    for schedule in await reminders.due(now=now):
        number = schedule["next_number"]
        started = schedule["started_at"]
        await recorder.record(
            event_id=checkin_event_id(schedule["_id"], number),
            event_type=CHECKIN_EVENT_TYPE,
            event_time=due_at(started, interval, number),
            intents=checkin_intents(schedule, number),
        )
        following = next_number(started, interval, after=number, now=now)
        if await reminders.advance(
            schedule["_id"],
            sent=number,
            next_number=following,
            next_due_at=due_at(started, interval, following),
        ):
            moved += 1
    return moved
