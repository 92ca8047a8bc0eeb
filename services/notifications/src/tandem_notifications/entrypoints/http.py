"""The notifications HTTP API (``/v1``): thin routes over the use cases."""

import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from tandem_chassis import CurrentPrincipal, Principal, require_roles, require_self_or_roles

from tandem_notifications.domain.preferences import Preferences
from tandem_notifications.domain.webhook import Webhook
from tandem_notifications.entrypoints.schemas import (
    InboxItem,
    InboxPageView,
    PreferencesBody,
    WebhookCreate,
    WebhookView,
)
from tandem_notifications.service_layer import inbox
from tandem_notifications.service_layer.unit_of_work import UnitOfWork

__all__ = ["router", "unit_of_work"]

router = APIRouter(prefix="/v1", tags=["notifications"])


def unit_of_work(request: Request) -> UnitOfWork:
    """The unit of work ``bootstrap.build_app`` put on the app."""
    uow = request.app.state.unit_of_work
    if not isinstance(uow, UnitOfWork):
        raise RuntimeError("the notifications app has no unit of work: build it with build_app()")
    return uow


Uow = Annotated[UnitOfWork, Depends(unit_of_work)]
ProgramAdmin = Annotated[Principal, require_roles("program_admin")]


@router.get("/employees/{employee_id}/notifications", response_model=InboxPageView)
async def list_notifications(
    employee_id: str,
    principal: CurrentPrincipal,
    uow: Uow,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> InboxPageView:
    """The in-app inbox, newest first; pass ``next_cursor`` back as ``cursor`` for older ones."""
    require_self_or_roles(principal, employee_id)
    try:
        page = await inbox.inbox_page(uow, employee_id, limit=limit, cursor=cursor)
    except (ValueError, binascii.Error) as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "invalid cursor") from error
    items = [
        InboxItem(
            id=d.id,
            kind=d.kind,
            subject=d.subject or "",
            text=d.text or "",
            read=bool(d.read),
            created_at=d.created_at,
        )
        for d in page.items
    ]
    return InboxPageView(items=items, next_cursor=page.next_cursor, unread_count=page.unread)


@router.post("/notifications/{notification_id}/read", status_code=status.HTTP_204_NO_CONTENT)
async def mark_read(notification_id: str, principal: CurrentPrincipal, uow: Uow) -> None:
    if not await inbox.mark_read(uow, notification_id, reader=principal.sub):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such notification in your inbox")


@router.get("/employees/{employee_id}/preferences", response_model=PreferencesBody)
async def get_preferences(employee_id: str, principal: CurrentPrincipal, uow: Uow) -> PreferencesBody:
    require_self_or_roles(principal, employee_id)
    preferences = await inbox.preferences_of(uow, employee_id)
    if preferences is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no employee {employee_id}")
    return PreferencesBody.model_validate(preferences.as_document())


@router.put("/employees/{employee_id}/preferences", response_model=PreferencesBody)
async def put_preferences(
    employee_id: str, body: PreferencesBody, principal: CurrentPrincipal, uow: Uow
) -> PreferencesBody:
    require_self_or_roles(principal, employee_id)
    preferences = Preferences(channels=body.channels, muted_types=frozenset(body.muted_types))
    if not await inbox.set_preferences(uow, employee_id, preferences):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no employee {employee_id}")
    return PreferencesBody.model_validate(preferences.as_document())


def _view(hook: Webhook) -> WebhookView:
    return WebhookView(id=hook.id, url=hook.url, event_types=hook.event_types, created_at=hook.created_at)


@router.post("/webhooks", response_model=WebhookView, status_code=status.HTTP_201_CREATED)
async def create_webhook(body: WebhookCreate, principal: ProgramAdmin, uow: Uow) -> WebhookView:
    """Subscribe a URL (Slack, Teams or any receiver that checks ``X-Tandem-Signature``)."""
    hook = await inbox.subscribe_webhook(
        uow, url=str(body.url), secret=body.secret, event_types=body.event_types, created_by=principal.sub
    )
    return _view(hook)


@router.get("/webhooks", response_model=list[WebhookView])
async def list_webhooks(admin: ProgramAdmin, uow: Uow) -> list[WebhookView]:
    return [_view(hook) for hook in await inbox.webhooks(uow)]


@router.delete("/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(webhook_id: str, admin: ProgramAdmin, uow: Uow) -> None:
    if not await inbox.unsubscribe_webhook(uow, webhook_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no webhook {webhook_id}")
