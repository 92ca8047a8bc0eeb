"""MongoDB access with PyMongo's async API (works on MongoDB and FerretDB 1.24)."""

from pymongo import AsyncMongoClient

from tandem_chassis.settings import ServiceSettings

__all__ = ["connect"]

Document = dict[str, object]


def connect(settings: ServiceSettings) -> AsyncMongoClient[Document]:
    """A client for the service's store; build it in a startup hook, never at import time."""
    return AsyncMongoClient(
        settings.mongodb_uri.get_secret_value(),
        tz_aware=True,
        serverSelectionTimeoutMS=5_000,
        connectTimeoutMS=5_000,
        appname=f"tandem-{settings.service_name}",
    )
