"""``tandem.notifications`` (key: ``notification_id``)."""

from datetime import datetime
from typing import Literal

from tandem_contracts.base import EventData

__all__ = ["Channel", "NotificationDelivered", "NotificationFailed"]

Channel = Literal["email", "webhook", "inapp"]


class NotificationDelivered(EventData):
    """``notification.delivered``."""

    notification_id: str
    event_id: str
    recipient_id: str
    channel: Channel
    kind: str
    attempts: int = 1
    delivered_at: datetime | None = None


class NotificationFailed(EventData):
    """``notification.failed``: the last attempt failed."""

    notification_id: str
    event_id: str
    recipient_id: str
    channel: Channel
    kind: str
    attempts: int
    error: str
    failed_at: datetime | None = None
