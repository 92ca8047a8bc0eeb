"""Fixtures: the notifications service in-process, a real SMTP sink and webhook receiver."""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tandem_chassis.testing import as_record, free_port, publish_raw
from tandem_contracts import CloudEvent, EventData, new_event
from tandem_notifications.bootstrap import build_app
from tandem_notifications.config import Settings
from tandem_notifications.service_layer.unit_of_work import UnitOfWork

from ..support import SmtpSink, WebhookReceiver


@dataclass
class Running:
    settings: Settings
    app: FastAPI
    http: httpx.AsyncClient
    smtp: SmtpSink

    def topic(self, name: str) -> str:
        return self.settings.topic(name)

    async def publish(self, topic: str, *events: CloudEvent) -> None:
        await publish_raw(
            self.settings.kafka_bootstrap_servers, self.topic(topic), [as_record(e) for e in events]
        )

    async def emit(self, topic: str, *data: EventData) -> list[CloudEvent]:
        events = [new_event(d, source="/tests") for d in data]
        await self.publish(topic, *events)
        return events

    @property
    def uow(self) -> UnitOfWork:
        return self.app.state.unit_of_work  # type: ignore[no-any-return]

    @property
    def db(self):  # type: ignore[no-untyped-def]
        return self.app.state.runtime.db


@pytest.fixture
def smtp_sink() -> Any:
    sink = SmtpSink(free_port())
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def webhook_receiver() -> Any:
    receiver = WebhookReceiver(free_port(), secret="whsec-0123456789abcdef")
    receiver.start()
    yield receiver
    receiver.stop()


FAST = {
    "delivery_backoff_initial_s": 0.2,
    "delivery_backoff_max_s": 1.0,
    "delivery_lease_s": 5.0,
    "smtp_timeout_s": 3.0,
    "webhook_timeout_s": 3.0,
    "dispatcher_poll_interval_s": 0.2,
    "reminder_poll_interval_s": 0.3,
}


@pytest.fixture
async def start_service(service_settings, smtp_sink) -> AsyncIterator[Callable[..., Awaitable[Running]]]:  # type: ignore[no-untyped-def]
    """``await start_service(**overrides)``: the service running in this process until the test ends."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(**overrides: Any) -> Running:
            settings = service_settings(
                Settings, "notifications", smtp_port=smtp_sink.port, **(FAST | overrides)
            )
            app = build_app(settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notifications")
            )
            return Running(settings, app, client, smtp_sink)

        yield start
