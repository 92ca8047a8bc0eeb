"""The notifications HTTP API (``/v1``): thin routes over the repositories and use cases."""

import binascii
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from tandem_chassis import CurrentPrincipal, Principal, require_roles, require_self_or_roles

from tandem_notifications.adapters.deliveries import DeliveryRepository
from tandem_notifications.adapters.recipients import RecipientProjection
from tandem_notifications.adapters.webhooks import WebhookRepository
from tandem_notifications.domain.preferences import Preferences
from tandem_notifications.entrypoints.schemas import (
    InboxItem,
    InboxPageView,
    PreferencesBody,
    WebhookCreate,
    WebhookView,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["notifications"])


def _deliveries(request: Request) -> DeliveryRepository:
    return request.app.state.deliveries  # type: ignore[no-any-return]


def _recipients(request: Request) -> RecipientProjection:
    return request.app.state.recipients  # type: ignore[no-any-return]


def _webhooks(request: Request) -> WebhookRepository:
    return request.app.state.webhooks  # type: ignore[no-any-return]


Deliveries = Annotated[DeliveryRepository, Depends(_deliveries)]
Recipients = Annotated[RecipientProjection, Depends(_recipients)]
Webhooks = Annotated[WebhookRepository, Depends(_webhooks)]
ProgramAdmin = Annotated[Principal, require_roles("program_admin")]


@router.get("/employees/{employee_id}/notifications", response_model=InboxPageView)
async def list_notifications(
    employee_id: str,
    principal: CurrentPrincipal,
    deliveries: Deliveries,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> InboxPageView:
    """The in-app inbox, newest first; pass ``next_cursor`` back as ``cursor`` for older ones."""
    require_self_or_roles(principal, employee_id)
    try:
        page = await deliveries.inbox(employee_id, limit=limit, cursor=cursor)
    except (ValueError, binascii.Error) as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "invalid cursor") from error
    items = [
        InboxItem(
            id=d["_id"],
            kind=d["kind"],
            subject=d["subject"],
            text=d["text"],
            read=d["read"],
            created_at=d["created_at"],
        )
        for d in page.items
    ]
    return InboxPageView(items=items, next_cursor=page.next_cursor, unread_count=page.unread)


@router.post("/notifications/{notification_id}/read", status_code=status.HTTP_204_NO_CONTENT)
async def mark_read(notification_id: str, principal: CurrentPrincipal, deliveries: Deliveries) -> None:
    found = await deliveries.get(notification_id)
    if found is None or found.get("channel") != "inapp" or found.get("recipient_id") != principal.sub:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such notification in your inbox")
    await deliveries.mark_read(notification_id, at=datetime.now(UTC))


@router.get("/employees/{employee_id}/preferences", response_model=PreferencesBody)
async def get_preferences(
    employee_id: str, principal: CurrentPrincipal, recipients: Recipients
) -> PreferencesBody:
    require_self_or_roles(principal, employee_id)
    recipient = await recipients.get(employee_id)
    if recipient is None or recipient.get("status") == "erased":
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no employee {employee_id}")
    return PreferencesBody.model_validate(recipients.preferences_of(recipient).as_document())


@router.put("/employees/{employee_id}/preferences", response_model=PreferencesBody)
async def put_preferences(
    employee_id: str, body: PreferencesBody, principal: CurrentPrincipal, recipients: Recipients
) -> PreferencesBody:
    require_self_or_roles(principal, employee_id)
    preferences = Preferences(channels=body.channels, muted_types=frozenset(body.muted_types))
    if not await recipients.set_preferences(employee_id, preferences):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no employee {employee_id}")
    return PreferencesBody.model_validate(preferences.as_document())


@router.post("/webhooks", response_model=WebhookView, status_code=status.HTTP_201_CREATED)
async def create_webhook(body: WebhookCreate, principal: ProgramAdmin, webhooks: Webhooks) -> WebhookView:
    """Subscribe a URL (Slack, Teams or any receiver that checks ``X-Tandem-Signature``)."""
    hook = await webhooks.add(
        url=str(body.url),
        secret=body.secret,
        event_types=body.event_types,
        created_by=principal.sub,
        at=datetime.now(UTC),
    )
    return WebhookView(
        id=hook["_id"], url=hook["url"], event_types=hook["event_types"], created_at=hook["created_at"]
    )


@router.get("/webhooks", response_model=list[WebhookView], dependencies=[require_roles("program_admin")])
async def list_webhooks(webhooks: Webhooks) -> list[WebhookView]:
    return [
        WebhookView(id=h["_id"], url=h["url"], event_types=h["event_types"], created_at=h["created_at"])
        for h in await webhooks.active()
    ]


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require_roles("program_admin")],
)
async def delete_webhook(webhook_id: str, webhooks: Webhooks) -> None:
    if not await webhooks.remove(webhook_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no webhook {webhook_id}")
