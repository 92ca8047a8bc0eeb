"""The composition root: the only place real adapters are built.

One :class:`UnitOfWork` is built here, before the service starts (its Mongo repositories bind
to the runtime's database when used), and handed to the Kafka subscribers, the HTTP routes,
the dispatchers and the reminder scheduler.
"""

import asyncio
from datetime import timedelta

from fastapi import FastAPI
from pymongo.asynchronous.database import AsyncDatabase
from tandem_chassis import ServiceRuntime
from tandem_chassis.concurrency import every
from tandem_chassis.logging import get_logger
from tandem_contracts import topics

from tandem_notifications.adapters import outcomes
from tandem_notifications.adapters.deliveries import MongoDeliveries
from tandem_notifications.adapters.held import MongoHeldNotices
from tandem_notifications.adapters.mongo import Document
from tandem_notifications.adapters.recipients import MongoRecipients
from tandem_notifications.adapters.reminders import MongoReminders
from tandem_notifications.adapters.smtp import SmtpSender
from tandem_notifications.adapters.webhook_sender import WebhookSender
from tandem_notifications.adapters.webhooks import MongoWebhooks
from tandem_notifications.config import Settings
from tandem_notifications.domain.rendering import Renderer
from tandem_notifications.entrypoints import http
from tandem_notifications.entrypoints.events import EventEntrypoints
from tandem_notifications.service_layer.dispatcher import Dispatcher, InboxSender
from tandem_notifications.service_layer.reminders import send_due_reminders
from tandem_notifications.service_layer.unit_of_work import UnitOfWork

__all__ = ["build_app", "run_dispatchers"]

log = get_logger(__name__)
INBOX_BATCH_FACTOR = 5  # storing is all an in-app delivery needs: bigger passes


def build_app(settings: Settings) -> FastAPI:
    runtime = ServiceRuntime(settings)
    runtime.publish_outbox_of(outcomes.COLLECTION)

    def database() -> AsyncDatabase[Document]:
        return runtime.db  # bound when used: the runtime connects at startup

    deliveries, held = MongoDeliveries(database), MongoHeldNotices(database)
    outcome_log = outcomes.OutcomeLog(lambda: runtime.aggregate_store(outcomes.COLLECTION))
    uow = UnitOfWork(
        recipients=MongoRecipients(database),
        deliveries=deliveries,
        held=held,
        reminders=MongoReminders(database),
        webhooks=MongoWebhooks(database),
        outcomes=outcome_log,
        settings=settings,
        renderer=Renderer(app_url=settings.app_url),
    )
    events = EventEntrypoints(uow)

    @runtime.on_startup
    async def create_indexes(rt: ServiceRuntime) -> None:
        await deliveries.create_indexes()
        await outcome_log.create_indexes()
        await held.create_indexes()

    async def dispatch(rt: ServiceRuntime) -> None:
        await run_dispatchers(uow)

    async def schedule_reminders(rt: ServiceRuntime) -> None:
        interval_s = timedelta(days=settings.checkin_days).total_seconds()
        pause = min(settings.reminder_poll_interval_s, interval_s / 4)
        await every("check-in reminders", pause, lambda: send_due_reminders(uow))

    runtime.subscribe(topics.PROFILES, events.on_profile, batch_handler=events.on_profiles)
    runtime.subscribe(topics.MENTORSHIPS, events.on_mentorship, batch_handler=events.on_mentorships)
    runtime.subscribe(topics.PROGRAMS, events.on_program, batch_handler=events.on_programs)
    runtime.subscribe(topics.RELATIONSHIPS, events.on_relationship, batch_handler=events.on_relationships)
    runtime.run_in_background(dispatch, "dispatchers")
    runtime.run_in_background(schedule_reminders, "check-in reminders")
    app = runtime.http_app([http.router], title="Tandem notifications")
    app.state.unit_of_work = uow
    return app


async def run_dispatchers(uow: UnitOfWork) -> None:
    """One dispatcher per channel until cancelled; the senders' connections are closed after."""
    settings = uow.settings
    smtp, webhook_sender = SmtpSender(settings), WebhookSender(settings, uow.webhooks)
    dispatchers = [
        Dispatcher(uow, smtp),
        Dispatcher(uow, webhook_sender),
        Dispatcher(uow, InboxSender(), batch_size=settings.dispatcher_batch_size * INBOX_BATCH_FACTOR),
    ]
    try:
        await asyncio.gather(*(dispatcher.run() for dispatcher in dispatchers))
    finally:
        for sender in (smtp, webhook_sender):
            try:
                await sender.close()
            except Exception:  # shutting down: log it and close the others
                log.exception("closing a sender failed", channel=sender.channel)
