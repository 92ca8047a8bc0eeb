"""The composition root: the only place real adapters are built."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from fastapi import FastAPI
from tandem_chassis import Delivery, ServiceRuntime
from tandem_chassis.consumer import BatchItem
from tandem_chassis.logging import get_logger
from tandem_contracts import CloudEvent, EventData, topics

from tandem_matching.adapters.mentor_load import MentorLoadRepository
from tandem_matching.adapters.mentorships import MentorshipRepository
from tandem_matching.adapters.profiles_projection import ProfileProjection
from tandem_matching.adapters.programs import ProgramRepository, RoundRepository
from tandem_matching.config import Settings
from tandem_matching.entrypoints import http
from tandem_matching.entrypoints.deps import Adapters
from tandem_matching.entrypoints.profile_events import on_profile_event, on_profile_events
from tandem_matching.service_layer.mentorships import expire_due_proposals, reconcile_loads
from tandem_matching.service_layer.pool import MentorPool

__all__ = ["build_app"]

log = get_logger(__name__)
MENTORSHIPS = "mentorships"
PROGRAMS = "programs"


def build_app(settings: Settings) -> FastAPI:
    runtime = ServiceRuntime(settings)
    runtime.publish_outbox_of(MENTORSHIPS, PROGRAMS)
    app: FastAPI | None = None

    def adapters() -> Adapters:
        assert app is not None
        wired: Adapters = app.state.matching
        return wired

    @runtime.on_startup
    async def wire(rt: ServiceRuntime) -> None:
        projection = ProfileProjection(rt.collection("profiles"), rt.collection("counters"))
        loads = MentorLoadRepository(rt.collection("mentor_load"))
        wired = Adapters(
            projection=projection,
            pool=MentorPool(
                projection=projection,
                loads=loads,
                refresh_interval_s=settings.pool_refresh_interval_s,
            ),
            mentorships=MentorshipRepository(rt.aggregate_store(MENTORSHIPS)),
            loads=loads,
            programs=ProgramRepository(rt.aggregate_store(PROGRAMS)),
            rounds=RoundRepository(rt.collection("rounds")),
            default_expiry=timedelta(days=settings.proposal_expiry_days),
            max_suggestions=settings.max_suggestions,
        )
        await projection.create_indexes()
        await wired.mentorships.create_indexes()
        await wired.programs.create_indexes()
        await wired.rounds.create_indexes()
        await wired.pool.poll()  # the index is ready before the first request
        assert app is not None
        app.state.matching = wired

    async def on_event(event: CloudEvent, data: EventData, delivery: Delivery) -> None:
        await on_profile_event(event, data, delivery, adapters=adapters())

    async def on_events(items: list[BatchItem]) -> None:
        await on_profile_events(items, adapters=adapters())

    def periodic(
        name: str, interval_s: float, job: Callable[[Adapters], Awaitable[int]]
    ) -> Callable[[ServiceRuntime], Awaitable[None]]:
        async def loop(rt: ServiceRuntime) -> None:
            while True:
                try:
                    done = await job(adapters())
                except Exception as error:  # the job must survive a store outage; it runs again
                    log.warning(f"{name} job failed", error=str(error)[:300])
                else:
                    if done:
                        log.info(f"{name} job changed mentorships", count=done)
                await asyncio.sleep(interval_s)

        return loop

    async def expire(wired: Adapters) -> int:
        return await expire_due_proposals(mentorships=wired.mentorships, loads=wired.loads, pool=wired.pool)

    async def reconcile(wired: Adapters) -> int:
        return await reconcile_loads(mentorships=wired.mentorships, loads=wired.loads, pool=wired.pool)

    async def poll_pool(rt: ServiceRuntime) -> None:
        pool = adapters().pool
        while True:
            await asyncio.sleep(settings.pool_refresh_interval_s)
            try:
                await pool.poll()
            except Exception as error:  # a store outage must not end the poller
                log.warning("mentor pool poll failed", error=str(error)[:300])

    runtime.subscribe(topics.PROFILES, on_event, batch_handler=on_events)
    runtime.run_in_background(poll_pool, "mentor-pool-poller")
    runtime.run_in_background(periodic("expiry", settings.expiry_interval_s, expire), "expiry")
    runtime.run_in_background(
        periodic("load-reconcile", settings.load_reconcile_interval_s, reconcile), "load-reconcile"
    )
    app = runtime.http_app([http.router], title="Tandem matching", larger_bodies=http.LARGER_BODIES)
    http.install_error_handlers(app)
    return app
