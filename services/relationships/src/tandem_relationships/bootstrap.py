"""The composition root: the only place real adapters are built and the unit of work is made."""

from fastapi import FastAPI
from tandem_chassis import Delivery, ServiceRuntime
from tandem_chassis.concurrency import every
from tandem_chassis.consumer import BatchItem
from tandem_contracts import CloudEvent, EventData, topics

from tandem_relationships.adapters.claims import MongoStepClaims
from tandem_relationships.adapters.people import MongoPeople
from tandem_relationships.adapters.programs import MongoPrograms
from tandem_relationships.adapters.relationships import MongoRelationships
from tandem_relationships.config import Settings
from tandem_relationships.entrypoints import events, http
from tandem_relationships.service_layer.clock import SystemClock
from tandem_relationships.service_layer.ports import Clock, UnitOfWork
from tandem_relationships.service_layer.steps import take_due_steps

__all__ = ["build_app"]

RELATIONSHIPS = "relationships"


def build_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The service's app; ``clock`` lets tests set the time the periodic steps see."""
    runtime = ServiceRuntime(settings)
    runtime.publish_outbox_of(RELATIONSHIPS)
    app = runtime.http_app([http.router], title="Tandem relationships")
    http.install_error_handlers(app)

    def uow() -> UnitOfWork:
        wired: UnitOfWork = app.state.uow
        return wired

    @runtime.on_startup
    async def wire(rt: ServiceRuntime) -> None:
        relationships = MongoRelationships(rt.aggregate_store(RELATIONSHIPS))
        await relationships.create_indexes()
        app.state.uow = UnitOfWork(
            relationships=relationships,
            people=MongoPeople(rt.collection("people")),
            programs=MongoPrograms(rt.collection("programs")),
            claims=MongoStepClaims(rt.collection("step_claims"), stale_after_s=settings.steps_claim_stale_s),
            clock=clock or SystemClock(settings.clock_offset_s),
            settings=settings,
        )

    async def on_mentorship(event: CloudEvent, data: EventData, delivery: Delivery) -> None:
        await events.on_mentorship_event(uow(), event, data, delivery)

    async def on_profile(event: CloudEvent, data: EventData, delivery: Delivery) -> None:
        await events.on_profile_event(uow(), event, data, delivery)

    async def on_profiles(items: list[BatchItem]) -> None:
        await events.on_profile_events(uow(), items)

    async def on_program(event: CloudEvent, data: EventData, delivery: Delivery) -> None:
        await events.on_program_event(uow(), event, data, delivery)

    async def steps(rt: ServiceRuntime) -> None:
        await every("time-driven steps", settings.steps_interval_s, lambda: take_due_steps(uow()))

    runtime.subscribe(topics.MENTORSHIPS, on_mentorship)
    runtime.subscribe(topics.PROFILES, on_profile, batch_handler=on_profiles)
    runtime.subscribe(topics.PROGRAMS, on_program)
    runtime.run_in_background(steps, "time-driven steps")
    return app
