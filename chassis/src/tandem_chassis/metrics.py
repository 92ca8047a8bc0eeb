"""Prometheus metrics shared by every service, served on ``/metrics``."""

from prometheus_client import Counter, Histogram

__all__ = [
    "EVENTS_CONSUMED",
    "EVENTS_DEAD_LETTERED",
    "EVENTS_PUBLISHED",
    "HANDLER_RETRIES",
    "HANDLER_SECONDS",
    "HTTP_REFUSED",
    "STORE_COMMANDS",
    "STORE_COMMAND_SECONDS",
]

EVENTS_CONSUMED = Counter("tandem_events_consumed_total", "Events handled successfully", ["topic", "type"])
EVENTS_DEAD_LETTERED = Counter(
    "tandem_events_dead_lettered_total", "Events sent to a dead-letter topic", ["topic", "error_type"]
)
HANDLER_RETRIES = Counter(
    "tandem_handler_retries_total", "Handler attempts that failed and were retried", ["topic"]
)
HANDLER_SECONDS = Histogram("tandem_handler_seconds", "Time spent in event handlers", ["topic"])
EVENTS_PUBLISHED = Counter(
    "tandem_events_published_total", "Events published by the outbox relay", ["topic", "type"]
)
STORE_COMMANDS = Counter(
    "tandem_store_commands_total",
    "Commands this process sent to its MongoDB-protocol store (find, insert, update, ...), by the"
    " collection they name",
    ["command", "collection"],
)
STORE_COMMAND_SECONDS = Counter(
    "tandem_store_command_seconds_total",
    "Seconds from sending each store command to its answer, by command and the collection it names",
    ["command", "collection"],
)
HTTP_REFUSED = Counter(
    "tandem_http_refused_total",
    "Requests the HTTP edge refused before the app read them (413, 408, 401, 429)",
    ["status"],
)
