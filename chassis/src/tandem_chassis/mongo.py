"""MongoDB access with PyMongo's async API (works on MongoDB and FerretDB 1.24)."""

from pymongo import AsyncMongoClient, monitoring

from tandem_chassis.metrics import STORE_COMMANDS
from tandem_chassis.settings import ServiceSettings

__all__ = ["connect"]

Document = dict[str, object]


_NO_COLLECTION = frozenset({"ping", "hello", "isMaster", "ismaster", "endSessions", "buildInfo"})


class CommandCounter(monitoring.CommandListener):
    """Counts the store commands a service sends (``tandem_store_commands_total``): the figure
    that says what an event costs the store, stable however loaded the machine is."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        collection = target if isinstance(target, str) and event.command_name not in _NO_COLLECTION else ""
        STORE_COMMANDS.labels(event.command_name, collection).inc()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def connect(settings: ServiceSettings) -> AsyncMongoClient[Document]:
    """A client for the service's store; build it in a startup hook, never at import time."""
    return AsyncMongoClient(
        settings.mongodb_uri.get_secret_value(),
        tz_aware=True,
        serverSelectionTimeoutMS=5_000,
        connectTimeoutMS=5_000,
        appname=f"tandem-{settings.service_name}",
        event_listeners=[CommandCounter()],
    )
