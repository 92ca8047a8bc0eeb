"""The composition root: the only place real adapters are built."""

from datetime import timedelta

from fastapi import FastAPI
from starlette.responses import Response
from tandem_chassis import Delivery, ServiceRuntime
from tandem_chassis.concurrency import every
from tandem_chassis.consumer import BatchItem
from tandem_chassis.logging import get_logger
from tandem_contracts import CloudEvent, EventData, topics

from tandem_profiles.adapters.groups import MongoGroupRepository
from tandem_profiles.adapters.repository import MongoProfileRepository
from tandem_profiles.config import Settings
from tandem_profiles.domain.scim.errors import ScimError
from tandem_profiles.entrypoints import http, scim, scim_discovery
from tandem_profiles.entrypoints.deps import unit_of_work_of
from tandem_profiles.entrypoints.hr_events import on_hr_batch, on_hr_event
from tandem_profiles.entrypoints.scim_responses import ScimResponse
from tandem_profiles.service_layer.profiles import erase_due_profiles
from tandem_profiles.service_layer.unit_of_work import UnitOfWork

__all__ = ["build_app"]

log = get_logger(__name__)
PROFILES = "profiles"
GROUPS = "scim_groups"


async def build_unit_of_work(runtime: ServiceRuntime, settings: Settings) -> UnitOfWork:
    profiles = MongoProfileRepository(
        runtime.aggregate_store(PROFILES), retention=timedelta(days=settings.retention_days)
    )
    groups = MongoGroupRepository(runtime.collection(GROUPS))
    await profiles.create_indexes()
    await groups.create_indexes()
    return UnitOfWork(profiles=profiles, groups=groups)


def _scim_refusal(status: int, detail: str, headers: dict[str, str]) -> Response:
    """The HTTP edge's refusals (413, 408, 401, 429) on SCIM routes, in SCIM's error schema."""
    return ScimResponse(ScimError(status, detail).body(), status_code=status, headers=headers)


def build_app(settings: Settings) -> FastAPI:
    runtime = ServiceRuntime(settings)
    runtime.publish_outbox_of(PROFILES)
    app = runtime.http_app(
        [http.router, scim.router, scim_discovery.router],
        title="Tandem profiles",
        refusals={"/scim/v2/": _scim_refusal},
    )

    @runtime.on_startup
    async def wire(rt: ServiceRuntime) -> None:
        app.state.unit_of_work = await build_unit_of_work(rt, settings)

    async def on_event(event: CloudEvent, data: EventData, delivery: Delivery) -> None:
        await on_hr_event(event, data, delivery, uow=unit_of_work_of(app))

    async def on_batch(items: list[BatchItem]) -> None:
        await on_hr_batch(items, uow=unit_of_work_of(app))

    async def erase_leavers() -> None:
        """Erase leavers past their retention period."""
        erased = await erase_due_profiles(uow=unit_of_work_of(app))
        if erased:
            log.info("leavers erased after retention", count=erased)

    async def erasure_job(rt: ServiceRuntime) -> None:
        await every("erasure", settings.erasure_interval_s, erase_leavers)

    runtime.subscribe(topics.HR_EMPLOYEES, on_event, batch_handler=on_batch)
    runtime.run_in_background(erasure_job, "erasure")
    return app
