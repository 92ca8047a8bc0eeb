"""Signed webhooks over HTTP (httpx): Slack/Teams-compatible JSON, HMAC-SHA256 signature."""

import time

import httpx
from tandem_contracts.notifications import Channel

from tandem_notifications.config import Settings
from tandem_notifications.domain.delivery import Delivery, DeliveryError
from tandem_notifications.domain.signing import SIGNATURE_HEADER, sign
from tandem_notifications.service_layer.unit_of_work import Webhooks

__all__ = ["WebhookSender"]

RETRIED_STATUSES = frozenset({408, 425, 429})


class WebhookSender:
    channel: Channel = "webhook"

    def __init__(self, settings: Settings, webhooks: Webhooks) -> None:
        self.webhooks = webhooks
        self.concurrency = settings.webhook_concurrency
        self._client = httpx.AsyncClient(timeout=settings.webhook_timeout_s, follow_redirects=False)

    async def send(self, delivery: Delivery) -> None:
        hook = await self.webhooks.get(delivery.recipient_id)
        if hook is None or not hook.active:
            raise DeliveryError("the webhook was removed", transient=False)
        if delivery.body is None:
            raise DeliveryError("the webhook message has no body", transient=False)
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(hook.secret, body, int(time.time())),
            "X-Tandem-Delivery-Id": delivery.id,
            "X-Tandem-Event-Id": delivery.event_id,
            "X-Tandem-Event-Type": delivery.event_type,
        }
        try:
            response = await self._client.post(hook.url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryError(f"webhook unreachable: {type(error).__name__}", transient=True) from error
        if response.is_success:
            return
        transient = response.status_code >= 500 or response.status_code in RETRIED_STATUSES
        raise DeliveryError(f"webhook answered {response.status_code}", transient=transient)

    async def close(self) -> None:
        await self._client.aclose()
