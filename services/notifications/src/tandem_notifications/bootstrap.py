"""The composition root: the only place real adapters are built."""

from dataclasses import dataclass

from fastapi import FastAPI

from tandem_chassis import Delivery, ServiceRuntime
from tandem_contracts import CloudEvent, EventData, ProfileSnapshot, topics
from tandem_notifications.adapters.recipients import RecipientProjection
from tandem_notifications.config import Settings
from tandem_notifications.service_layer.recipients import record_recipient

__all__ = ["build_app"]


@dataclass
class Adapters:
    recipients: RecipientProjection


def build_app(settings: Settings) -> FastAPI:
    runtime = ServiceRuntime(settings)
    adapters: list[Adapters] = []

    @runtime.on_startup
    async def wire(rt: ServiceRuntime) -> None:
        adapters.append(Adapters(recipients=RecipientProjection(rt.collection("recipients"))))

    async def on_profile(event: CloudEvent, data: EventData, delivery: Delivery) -> None:
        assert isinstance(data, ProfileSnapshot)
        await record_recipient(data, projection=adapters[0].recipients)

    runtime.subscribe(topics.PROFILES, on_profile)
    return runtime.http_app([], title="Tandem notifications")
