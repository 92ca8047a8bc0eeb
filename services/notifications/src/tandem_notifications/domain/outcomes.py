"""What a dispatcher pass did with the deliveries it sent: pure, no I/O.

:func:`outcome_of` decides, per delivery, delivered / failed (a permanent error, or the last
attempt) / retry later (backoff from the :class:`RetryPolicy`), and which
``notification.delivered`` / ``notification.failed`` events that causes.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tandem_contracts import EventData, NotificationDelivered, NotificationFailed
from tandem_contracts.notifications import Channel

from tandem_notifications.domain.backoff import RetryPolicy
from tandem_notifications.domain.delivery import Delivery, DeliveryError

__all__ = ["Attempted", "Failed", "PassOutcome", "Rescheduled", "outcome_of"]

ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class Attempted:
    id: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Failed:
    id: str
    attempts: int
    error: str


@dataclass(frozen=True, slots=True)
class Rescheduled:
    """Deliveries that failed their ``attempts``-th attempt and are tried again at ``at``."""

    ids: list[str]
    at: datetime
    error: str
    attempts: int


@dataclass(frozen=True, slots=True)
class PassOutcome:
    id: str
    channel: str
    created_at: datetime
    delivered: list[Attempted] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    retry: list[Rescheduled] = field(default_factory=list)


def outcome_of(
    outcome_id: str,
    channel: Channel,
    attempted: Sequence[tuple[Delivery, DeliveryError | None]],
    *,
    policy: RetryPolicy,
    now: datetime,
) -> tuple[PassOutcome, list[EventData]]:
    """The outcome of sending ``attempted`` (each delivery with its error, if any), and its events."""
    outcome = PassOutcome(outcome_id, channel, now)
    events: list[EventData] = []
    retries: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for delivery, error in attempted:
        if error is None:
            outcome.delivered.append(Attempted(delivery.id, delivery.attempts))
            events.append(
                NotificationDelivered(
                    notification_id=delivery.id,
                    event_id=delivery.event_id,
                    recipient_id=delivery.recipient_id,
                    channel=channel,
                    kind=delivery.kind,
                    attempts=delivery.attempts,
                    delivered_at=now,
                )
            )
        elif not error.transient or policy.exhausted(delivery.attempts):
            message = str(error)[:ERROR_CHARS]
            outcome.failed.append(Failed(delivery.id, delivery.attempts, message))
            events.append(
                NotificationFailed(
                    notification_id=delivery.id,
                    event_id=delivery.event_id,
                    recipient_id=delivery.recipient_id,
                    channel=channel,
                    kind=delivery.kind,
                    attempts=delivery.attempts,
                    error=message,
                    failed_at=now,
                )
            )
        else:
            retries[delivery.attempts].append((delivery.id, str(error)[:ERROR_CHARS]))
    for attempts, failed in retries.items():
        at = now + timedelta(seconds=policy.delay_s(attempts))
        outcome.retry.append(Rescheduled([i for i, _ in failed], at, failed[0][1], attempts))
    return outcome, events
