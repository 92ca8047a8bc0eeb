"""The chassis every Tandem service stands on."""

from tandem_chassis.auth import CurrentPrincipal, Principal, require_roles, require_self_or_roles
from tandem_chassis.consumer import Delivery, PermanentError
from tandem_chassis.outbox import AggregateStore, OutboxRelay, Upsert, upsert_if_newer, upsert_many_if_newer
from tandem_chassis.runtime import ServiceRuntime, serve
from tandem_chassis.settings import ServiceSettings

__all__ = [
    "AggregateStore",
    "CurrentPrincipal",
    "Delivery",
    "OutboxRelay",
    "PermanentError",
    "Principal",
    "ServiceRuntime",
    "ServiceSettings",
    "Upsert",
    "require_roles",
    "require_self_or_roles",
    "serve",
    "upsert_if_newer",
    "upsert_many_if_newer",
]
