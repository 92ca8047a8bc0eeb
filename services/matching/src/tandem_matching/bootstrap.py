"""The composition root: the only place real adapters are built."""

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from tandem_chassis import Delivery, ServiceRuntime
from tandem_chassis.concurrency import every
from tandem_chassis.consumer import BatchItem
from tandem_chassis.logging import get_logger
from tandem_contracts import CloudEvent, EventData, topics

from tandem_matching.adapters.mentor_load import MongoMentorLoads
from tandem_matching.adapters.mentorships import MongoMentorships
from tandem_matching.adapters.outcomes import MongoOutcomes
from tandem_matching.adapters.pool_snapshots import MongoPoolSnapshots
from tandem_matching.adapters.profiles_projection import ProfileProjection
from tandem_matching.adapters.programs import MongoPrograms, MongoRounds
from tandem_matching.config import Settings
from tandem_matching.entrypoints import http
from tandem_matching.entrypoints.deps import unit_of_work
from tandem_matching.entrypoints.profile_events import on_profile_event, on_profile_events
from tandem_matching.entrypoints.relationship_events import on_relationship_event
from tandem_matching.service_layer.mentorships import expire_due_proposals
from tandem_matching.service_layer.pool import MentorPool
from tandem_matching.service_layer.seats import reconcile_loads
from tandem_matching.service_layer.unit_of_work import UnitOfWork

__all__ = ["build_app"]

log = get_logger(__name__)
MENTORSHIPS = "mentorships"
PROGRAMS = "programs"


async def build_unit_of_work(rt: ServiceRuntime, settings: Settings) -> UnitOfWork:
    """The real repositories on the service's database, their indexes, and a warm mentor pool."""
    profiles = ProfileProjection(rt.collection("profiles"), rt.collection("counters"))
    loads = MongoMentorLoads(rt.collection("mentor_load"))
    mentorships = MongoMentorships(rt.aggregate_store(MENTORSHIPS))
    programs = MongoPrograms(rt.aggregate_store(PROGRAMS))
    rounds = MongoRounds(rt.collection("rounds"))
    outcomes = MongoOutcomes(rt.collection("outcomes"))
    for repository in (profiles, mentorships, programs, rounds, outcomes):
        await repository.create_indexes()
    pool = MentorPool(
        projection=profiles,
        loads=loads,
        refresh_interval_s=settings.pool_refresh_interval_s,
        snapshots=MongoPoolSnapshots(rt.collection("pool_snapshot")),
        snapshot_changes=settings.pool_snapshot_changes,
        snapshot_interval_s=settings.pool_snapshot_interval_s,
    )
    await pool.start()  # the index is ready before the first request
    return UnitOfWork(
        profiles=profiles,
        mentorships=mentorships,
        loads=loads,
        programs=programs,
        rounds=rounds,
        outcomes=outcomes,
        pool=pool,
        settings=settings,
    )


def build_app(settings: Settings) -> FastAPI:
    runtime = ServiceRuntime(settings)
    runtime.publish_outbox_of(MENTORSHIPS, PROGRAMS)
    app = runtime.http_app([http.router], title="Tandem matching", larger_bodies=http.LARGER_BODIES)
    http.install_error_handlers(app)

    async def wire(rt: ServiceRuntime) -> None:
        app.state.uow = await build_unit_of_work(rt, settings)

    async def on_event(event: CloudEvent, data: EventData, delivery: Delivery) -> None:
        await on_profile_event(unit_of_work(app), event, data, delivery)

    async def on_events(items: list[BatchItem]) -> None:
        await on_profile_events(unit_of_work(app), items)

    async def on_relationship(event: CloudEvent, data: EventData, delivery: Delivery) -> None:
        await on_relationship_event(unit_of_work(app), event, data, delivery)

    def periodic(name: str, interval_s: float, job: Callable[[UnitOfWork], Awaitable[int | None]]) -> None:
        async def run_job() -> None:
            changed = await job(unit_of_work(app))
            if changed:
                log.info(f"{name} job changed mentorships", count=changed)

        async def loop(rt: ServiceRuntime) -> None:
            await every(name, interval_s, run_job)

        runtime.run_in_background(loop, name)

    async def poll_pool(uow: UnitOfWork) -> None:
        await uow.pool.poll()  # other replicas' writes

    runtime.on_startup(wire)
    runtime.subscribe(topics.PROFILES, on_event, batch_handler=on_events)
    runtime.subscribe(topics.RELATIONSHIPS, on_relationship)
    periodic("mentor-pool-poller", settings.pool_refresh_interval_s, poll_pool)
    periodic("expiry", settings.expiry_interval_s, expire_due_proposals)
    periodic("load-reconcile", settings.load_reconcile_interval_s, reconcile_loads)
    return app
