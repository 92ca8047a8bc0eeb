"""Use cases behind the HTTP API: the inbox, preferences and webhook subscriptions."""

from collections.abc import Iterable

from tandem_notifications.domain.delivery import InboxPage
from tandem_notifications.domain.preferences import Preferences
from tandem_notifications.domain.webhook import Webhook
from tandem_notifications.service_layer.unit_of_work import UnitOfWork

__all__ = [
    "inbox_page",
    "mark_read",
    "preferences_of",
    "set_preferences",
    "subscribe_webhook",
    "unsubscribe_webhook",
    "webhooks",
]


async def inbox_page(uow: UnitOfWork, employee_id: str, *, limit: int, cursor: str | None) -> InboxPage:
    """The in-app inbox, newest first; ``ValueError`` for a cursor that is not ours."""
    return await uow.deliveries.inbox(employee_id, limit=limit, cursor=cursor)


async def mark_read(uow: UnitOfWork, notification_id: str, *, reader: str) -> bool:
    """Mark an inbox notification read; False unless it is in ``reader``'s own inbox."""
    found = await uow.deliveries.get(notification_id)
    if found is None or found.channel != "inapp" or found.recipient_id != reader:
        return False
    await uow.deliveries.mark_read(notification_id, at=uow.clock())
    return True


async def preferences_of(uow: UnitOfWork, employee_id: str) -> Preferences | None:
    """The employee's effective preferences; None for someone unknown or erased."""
    recipient = await uow.recipients.get(employee_id)
    if recipient is None or recipient.erased:
        return None
    return recipient.preferences


async def set_preferences(uow: UnitOfWork, employee_id: str, preferences: Preferences) -> bool:
    """Store the employee's own choice (it wins over the profile's); False if unknown or erased."""
    return await uow.recipients.set_preferences(employee_id, preferences)


async def subscribe_webhook(
    uow: UnitOfWork, *, url: str, secret: str, event_types: Iterable[str], created_by: str
) -> Webhook:
    webhook = Webhook.new(
        url=url, secret=secret, event_types=event_types, created_by=created_by, at=uow.clock()
    )
    await uow.webhooks.add(webhook)
    return webhook


async def webhooks(uow: UnitOfWork) -> list[Webhook]:
    return await uow.webhooks.active()


async def unsubscribe_webhook(uow: UnitOfWork, webhook_id: str) -> bool:
    return await uow.webhooks.remove(webhook_id)
