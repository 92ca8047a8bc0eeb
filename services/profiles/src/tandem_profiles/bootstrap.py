"""The composition root: the only place real adapters are built."""

import asyncio
from datetime import timedelta

from fastapi import FastAPI
from starlette.responses import Response
from tandem_chassis import Delivery, ServiceRuntime
from tandem_chassis.consumer import BatchItem
from tandem_chassis.logging import get_logger
from tandem_contracts import CloudEvent, EventData, topics

from tandem_profiles.adapters.repository import ProfileRepository
from tandem_profiles.config import Settings
from tandem_profiles.entrypoints import http, scim
from tandem_profiles.entrypoints.hr_events import on_hr_batch, on_hr_event
from tandem_profiles.service_layer.profiles import erase_due_profiles

__all__ = ["build_app"]

log = get_logger(__name__)
PROFILES = "profiles"


def _scim_refusal(status: int, detail: str, headers: dict[str, str]) -> Response:
    """The HTTP edge's refusals (413, 408, 401, 429) on SCIM routes, in SCIM's error schema."""
    return scim.scim_error(status, detail, None, headers)


def build_app(settings: Settings) -> FastAPI:
    runtime = ServiceRuntime(settings)
    runtime.publish_outbox_of(PROFILES)
    app: FastAPI | None = None

    @runtime.on_startup
    async def wire(rt: ServiceRuntime) -> None:
        repository = ProfileRepository(
            rt.aggregate_store(PROFILES), retention=timedelta(days=settings.retention_days)
        )
        await repository.create_indexes()
        assert app is not None
        app.state.profiles = repository

    async def on_event(event: CloudEvent, data: EventData, delivery: Delivery) -> None:
        await on_hr_event(event, data, delivery, repository=app.state.profiles)  # type: ignore[union-attr]

    async def on_batch(items: list[BatchItem]) -> None:
        await on_hr_batch(items, repository=app.state.profiles)  # type: ignore[union-attr]

    async def erasure_job(rt: ServiceRuntime) -> None:
        """Erase leavers past their retention period, now and then every interval."""
        while True:
            try:
                erased = await erase_due_profiles(repository=app.state.profiles)  # type: ignore[union-attr]
            except Exception as error:  # the job must survive a store outage; it runs again
                log.warning("erasure job failed", error=str(error)[:300])
            else:
                if erased:
                    log.info("leavers erased after retention", count=erased)
            await asyncio.sleep(settings.erasure_interval_s)

    runtime.subscribe(topics.HR_EMPLOYEES, on_event, batch_handler=on_batch)
    runtime.run_in_background(erasure_job, "erasure")
    app = runtime.http_app(
        [http.router, scim.router], title="Tandem profiles", refusals={"/scim/v2/": _scim_refusal}
    )
    return app
