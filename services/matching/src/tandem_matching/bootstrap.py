"""The composition root: the only place real adapters are built."""

from dataclasses import dataclass

from fastapi import FastAPI

from tandem_chassis import Delivery, ServiceRuntime
from tandem_contracts import CloudEvent, EventData, ProfileSnapshot, topics
from tandem_matching.adapters.profiles_projection import ProfileProjection
from tandem_matching.config import Settings
from tandem_matching.service_layer.profiles import record_profile

__all__ = ["build_app"]


@dataclass
class Adapters:
    profiles: ProfileProjection


def build_app(settings: Settings) -> FastAPI:
    runtime = ServiceRuntime(settings)
    adapters: list[Adapters] = []

    @runtime.on_startup
    async def wire(rt: ServiceRuntime) -> None:
        adapters.append(Adapters(profiles=ProfileProjection(rt.collection("profiles"))))

    async def on_profile(event: CloudEvent, data: EventData, delivery: Delivery) -> None:
        assert isinstance(data, ProfileSnapshot)
        await record_profile(data, projection=adapters[0].profiles)

    runtime.subscribe(topics.PROFILES, on_profile)
    return runtime.http_app([], title="Tandem matching")
