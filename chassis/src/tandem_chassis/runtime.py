"""What one service process owns — settings, broker, store, outbox relay — and its HTTP app.

Each service's ``bootstrap.py`` builds a :class:`ServiceRuntime`, registers its subscribers and
startup hooks, and asks for the FastAPI app; clients are created in the app's lifespan, never at
import time.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from tandem_chassis.auth import JwtVerifier
from tandem_chassis.concurrency import ConflictError, stop_tasks
from tandem_chassis.consumer import BatchHandler, EventHandler, subscribe
from tandem_chassis.health import ReadinessCheck, health_router
from tandem_chassis.http_edge import AuthFailures, EdgePolicy, HttpEdge, Refusal, bounded_validation_errors
from tandem_chassis.http_server import uvicorn_options
from tandem_chassis.kafka import build_broker, ensure_topics
from tandem_chassis.logging import configure_logging, get_logger
from tandem_chassis.mongo import Document, connect
from tandem_chassis.outbox import AggregateStore, OutboxRelay
from tandem_chassis.settings import ServiceSettings

__all__ = ["ServiceRuntime", "serve"]

log = get_logger(__name__)
StartupHook = Callable[["ServiceRuntime"], Awaitable[None]]


class ServiceRuntime:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.broker: KafkaBroker = build_broker(settings)
        self._client: AsyncMongoClient[Document] | None = None
        self._startup: list[StartupHook] = []
        self._after_start: list[StartupHook] = []
        self._background: list[asyncio.Task[None]] = []
        self._outbox_collections: list[str] = []
        self.relay: OutboxRelay | None = None
        self._relay_wake = asyncio.Event()  # set by every outbox write; the relay publishes at once
        self.readiness: dict[str, ReadinessCheck] = {
            "kafka": self._kafka_ready,
            "mongodb": self._mongodb_ready,
        }

    @property
    def db(self) -> AsyncDatabase[Document]:
        if self._client is None:
            raise RuntimeError("the runtime is not started")
        return self._client[self.settings.database_name]

    def collection(self, name: str) -> AsyncCollection[Document]:
        return self.db[name]

    def on_startup(self, hook: StartupHook) -> StartupHook:
        self._startup.append(hook)
        return hook

    def run_in_background(
        self, job: Callable[["ServiceRuntime"], Coroutine[Any, Any, None]], name: str
    ) -> None:
        """Start ``job`` after startup and cancel it at shutdown (schedulers, periodic jobs)."""

        async def start_job(rt: ServiceRuntime) -> None:
            self._background.append(asyncio.create_task(job(rt), name=name))

        self._after_start.append(start_job)

    def publish_outbox_of(self, *collections: str) -> None:
        """Relay the outbox entries written into these collections."""
        self._outbox_collections.extend(collections)

    def aggregate_store(self, collection: str) -> AggregateStore:
        """The store of an aggregate collection declared with :meth:`publish_outbox_of`;
        its writes wake the relay."""
        if collection not in self._outbox_collections:
            raise ValueError(f"{collection!r} is not declared with publish_outbox_of()")
        return AggregateStore(
            self.collection(collection),
            source=f"/tandem/{self.settings.service_name}",
            topic_prefix=self.settings.kafka_topic_prefix,
            on_write=self._relay_wake,
        )

    def subscribe(
        self,
        topic: str,
        handler: EventHandler,
        *,
        group: str | None = None,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        subscribe(
            self.broker,
            topic=self.settings.topic(topic),
            group_id=self.settings.group(group or f"tandem-{self.settings.service_name}"),
            handler=handler,
            settings=self.settings,
            batch_handler=batch_handler,
        )

    async def start(self) -> None:
        self._client = connect(self.settings)
        await ensure_topics(settings=self.settings)
        for hook in self._startup:
            await hook(self)
        await self.broker.start()
        if self._outbox_collections:
            self.relay = OutboxRelay(
                self.broker,
                [self.db[name] for name in self._outbox_collections],
                poll_interval_s=self.settings.outbox_poll_interval_s,
                wake=self._relay_wake,
            )
            self.relay.start()
        for hook in self._after_start:
            await hook(self)
        log.info("service started", database=self.settings.database_name)

    async def stop(self) -> None:
        await stop_tasks(self._background)
        self._background.clear()
        if self.relay is not None:
            await self.relay.stop()
        await self.broker.stop()
        if self._client is not None:
            await self._client.close()
            self._client = None
        log.info("service stopped")

    def wake_relay(self) -> None:
        self._relay_wake.set()

    async def _kafka_ready(self) -> bool:
        return await self.broker.ping(timeout=2.0)

    async def _mongodb_ready(self) -> bool:
        await self.db.command("ping")
        return True

    def http_app(
        self,
        routers: Sequence[APIRouter],
        *,
        title: str,
        larger_bodies: Mapping[tuple[str, str], int] | None = None,
        refusals: Mapping[str, Refusal] | None = None,
        **fastapi: Any,
    ) -> FastAPI:
        """The service's FastAPI app behind the HTTP edge (``tandem_chassis.http_edge``).

        ``larger_bodies`` names the routes, ``(method, path template)``, whose bodies may be
        larger than ``http_max_body_bytes``; ``refusals`` renders the edge's refusals (413, 408,
        401, 429) by path prefix where a route family has its own error schema.
        """

        @contextlib.asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        app = FastAPI(title=title, lifespan=lifespan, **fastapi)
        app.state.runtime = self
        app.state.settings = self.settings
        app.state.jwt_verifier = JwtVerifier(self.settings)
        app.state.readiness_checks = self.readiness
        app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
        app.add_exception_handler(ConflictError, _conflict)  # type: ignore[arg-type]
        app.include_router(health_router())
        for router in routers:
            app.include_router(router)
        policy = EdgePolicy.from_settings(
            self.settings, larger_bodies=dict(larger_bodies or {}), refusals=dict(refusals or {})
        )
        app.add_middleware(HttpEdge, policy=policy, failures=AuthFailures.from_settings(self.settings))
        return app


async def _invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
    """FastAPI's 422, but bounded and always renderable: its default echoes the whole input
    (a 200 MB ``bio`` came back whole), and ``NaN`` or ``1e400`` in a body (which Python's
    JSON parser reads) failed to render: a 500."""
    return JSONResponse(status_code=422, content={"detail": bounded_validation_errors(error.errors())})


async def _conflict(request: Request, error: ConflictError) -> JSONResponse:
    """A write that kept losing to concurrent writers: the client may retry, so 409, never 500."""
    return JSONResponse(status_code=409, content={"detail": str(error), "reason": error.reason})


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run ``app`` with uvicorn until SIGINT/SIGTERM, then shut down gracefully.

    Slow and idle clients are bounded by the ``http_*`` settings (``tandem_chassis.http_server``).
    """
    configure_logging(service=settings.service_name, level=settings.log_level)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=30,
        **uvicorn_options(settings),
    )
