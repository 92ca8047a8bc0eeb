"""The composition root: the only place real adapters are built."""

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from tandem_chassis import ServiceRuntime
from tandem_chassis.logging import get_logger
from tandem_contracts import topics

from tandem_notifications.adapters.deliveries import DeliveryRepository
from tandem_notifications.adapters.held import HeldNotices
from tandem_notifications.adapters.outcomes import OutcomeLog
from tandem_notifications.adapters.recipients import RecipientProjection
from tandem_notifications.adapters.reminders import ReminderRepository
from tandem_notifications.adapters.smtp import SmtpSender
from tandem_notifications.adapters.webhook_sender import WebhookSender
from tandem_notifications.adapters.webhooks import WebhookRepository
from tandem_notifications.config import Settings
from tandem_notifications.domain.backoff import RetryPolicy
from tandem_notifications.domain.rendering import Renderer
from tandem_notifications.entrypoints import http
from tandem_notifications.entrypoints.events import EventEntrypoints
from tandem_notifications.service_layer.dispatcher import Dispatcher, InboxSender
from tandem_notifications.service_layer.notify import Recorder
from tandem_notifications.service_layer.reminders import send_due_reminders

__all__ = ["build_app"]

log = get_logger(__name__)
OUTCOMES = "dispatch_batches"


@dataclass
class Wiring:
    """What the startup hook builds: the handlers, dispatchers and scheduler use it."""

    entrypoints: EventEntrypoints | None = None
    dispatchers: list[Dispatcher] = field(default_factory=list)
    closers: list[object] = field(default_factory=list)

    def wake_dispatchers(self, channels: set[str]) -> None:
        for dispatcher in self.dispatchers:
            if dispatcher.channel in channels:
                dispatcher.wake.set()


def build_app(settings: Settings) -> FastAPI:
    runtime = ServiceRuntime(settings)
    runtime.publish_outbox_of(OUTCOMES)
    wiring = Wiring()
    interval = timedelta(days=settings.checkin_days)
    app: FastAPI | None = None

    @runtime.on_startup
    async def wire(rt: ServiceRuntime) -> None:
        recipients = RecipientProjection(rt.collection("recipients"))
        deliveries = DeliveryRepository(rt.collection("deliveries"))
        webhooks = WebhookRepository(rt.collection("webhooks"))
        reminders = ReminderRepository(rt.collection("reminders"))
        outcomes = OutcomeLog(rt.aggregate_store(OUTCOMES))
        held = HeldNotices(rt.collection("held_notices"))
        await deliveries.create_indexes()
        await outcomes.create_indexes()
        await held.create_indexes()
        recorder = Recorder(
            recipients=recipients,
            deliveries=deliveries,
            webhooks=webhooks,
            held=held,
            renderer=Renderer(app_url=settings.app_url),
            on_recorded=wiring.wake_dispatchers,
        )
        wiring.entrypoints = EventEntrypoints(recipients, deliveries, reminders, recorder, interval)
        smtp, webhook_sender = SmtpSender(settings), WebhookSender(settings, webhooks)
        wiring.closers = [smtp, webhook_sender]
        policy = RetryPolicy(
            settings.delivery_max_attempts,
            settings.delivery_backoff_initial_s,
            settings.delivery_backoff_max_s,
        )
        wiring.dispatchers = [
            Dispatcher(
                sender=sender,
                deliveries=deliveries,
                outcomes=outcomes,
                policy=policy,
                lease_s=settings.delivery_lease_s,
                batch_size=settings.dispatcher_batch_size * (5 if sender.channel == "inapp" else 1),
                poll_interval_s=settings.dispatcher_poll_interval_s,
                on_outcome=rt.wake_relay,
            )
            for sender in (smtp, webhook_sender, InboxSender())
        ]
        assert app is not None
        app.state.recipients, app.state.deliveries, app.state.webhooks = recipients, deliveries, webhooks
        app.state.reminders, app.state.recorder = reminders, recorder

    async def on_profile(event, data, delivery):  # type: ignore[no-untyped-def]
        assert wiring.entrypoints is not None
        await wiring.entrypoints.on_profile(event, data, delivery)

    async def on_mentorship(event, data, delivery):  # type: ignore[no-untyped-def]
        assert wiring.entrypoints is not None
        await wiring.entrypoints.on_mentorship(event, data, delivery)

    async def on_program(event, data, delivery):  # type: ignore[no-untyped-def]
        assert wiring.entrypoints is not None
        await wiring.entrypoints.on_program(event, data, delivery)

    async def dispatch(rt: ServiceRuntime) -> None:
        try:
            await asyncio.gather(*(dispatcher.run() for dispatcher in wiring.dispatchers))
        finally:
            for closer in wiring.closers:
                await closer.close()  # type: ignore[attr-defined]

    async def schedule_reminders(rt: ServiceRuntime) -> None:
        assert wiring.entrypoints is not None
        while True:
            try:
                await send_due_reminders(
                    reminders=wiring.entrypoints.reminders,
                    recorder=wiring.entrypoints.recorder,
                    interval=interval,
                    now=datetime.now(UTC),
                )
            except Exception as error:  # the scheduler must survive a store outage; it runs again
                log.warning("reminder pass failed", error=str(error)[:300])
            await asyncio.sleep(min(settings.reminder_poll_interval_s, interval.total_seconds() / 4))

    async def on_profiles(items):  # type: ignore[no-untyped-def]
        assert wiring.entrypoints is not None
        await wiring.entrypoints.on_profiles(items)

    async def on_mentorships(items):  # type: ignore[no-untyped-def]
        assert wiring.entrypoints is not None
        await wiring.entrypoints.on_mentorships(items)

    async def on_programs(items):  # type: ignore[no-untyped-def]
        assert wiring.entrypoints is not None
        await wiring.entrypoints.on_programs(items)

    runtime.subscribe(topics.PROFILES, on_profile, batch_handler=on_profiles)
    runtime.subscribe(topics.MENTORSHIPS, on_mentorship, batch_handler=on_mentorships)
    runtime.subscribe(topics.PROGRAMS, on_program, batch_handler=on_programs)
    runtime.run_in_background(dispatch, "dispatchers")
    runtime.run_in_background(schedule_reminders, "check-in reminders")
    app = runtime.http_app([http.router], title="Tandem notifications")
    return app
