"""The AsyncAPI 3.0 document of each service, generated from the contracts.

``python -m tandem_chassis.asyncapi OUT_DIR`` writes ``<service>.asyncapi.json`` for each service.
Payloads are the committed event-data JSON Schemas; headers are the CloudEvents binary-mode
attributes. The servers, topic names, partitions and replicas are those of the settings
(``TANDEM_KAFKA_*``: the documented deployment); the version is the service package's.
"""

import json
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final

from tandem_contracts import EVENT_TYPES, topics

from tandem_chassis.settings import ServiceSettings

__all__ = ["SERVICES", "document", "main"]

SERVICES: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "profiles": {"receives": (topics.HR_EMPLOYEES,), "sends": (topics.PROFILES,)},
    "matching": {
        "receives": (topics.PROFILES, topics.RELATIONSHIPS),
        "sends": (topics.MENTORSHIPS, topics.PROGRAMS),
    },
    "notifications": {
        "receives": (topics.PROFILES, topics.MENTORSHIPS, topics.PROGRAMS, topics.RELATIONSHIPS),
        "sends": (topics.NOTIFICATIONS,),
    },
    "relationships": {
        "receives": (topics.MENTORSHIPS, topics.PROFILES, topics.PROGRAMS),
        "sends": (topics.RELATIONSHIPS,),
    },
}
_HEADERS: Final = {
    "type": "object",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type"],
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {"type": "string"},
        "ce_source": {"type": "string"},
        "ce_type": {"type": "string"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": {"type": "string"},
        "content-type": {"type": "string", "const": "application/json"},
    },
}


def _channel_id(topic: str) -> str:
    return topic.replace(".", "_")


def _version(service: str) -> str:
    """The installed version of the service's package (of the contracts, if it is not installed)."""
    try:
        return version(f"tandem-{service}")
    except PackageNotFoundError:
        return version("tandem-contracts")


def _servers(settings: ServiceSettings) -> dict[str, Any]:
    """One AsyncAPI server per bootstrap broker; TLS is ``kafka-secure``, SASL is named."""
    protocol = "kafka-secure" if settings.kafka_security_protocol.endswith("SSL") else "kafka"
    servers: dict[str, Any] = {}
    hosts = [host.strip() for host in settings.kafka_bootstrap_servers.split(",") if host.strip()]
    for number, host in enumerate(hosts, start=1):
        server: dict[str, Any] = {"host": host, "protocol": protocol}
        if settings.kafka_security_protocol.startswith("SASL"):
            server["description"] = f"SASL {settings.kafka_sasl_mechanism}"
        servers["kafka" if len(hosts) == 1 else f"kafka-{number}"] = server
    return servers


def document(service: str, settings: ServiceSettings | None = None) -> dict[str, Any]:
    """The service's AsyncAPI document for the deployment ``settings`` describe (default: the
    ``TANDEM_*`` environment)."""
    settings = settings or ServiceSettings(service_name=service)
    roles = SERVICES[service]
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for action in ("receives", "sends"):
        for topic in roles[action]:
            channel = _channel_id(topic)
            types = [t for t in EVENT_TYPES.values() if t.topic == topic]
            channel_messages = {}
            for event in types:
                name = event.name.replace(".", "_")
                messages[name] = {
                    "name": event.name,
                    "title": event.model.__name__,
                    "summary": (event.model.__doc__ or "").strip().splitlines()[0],
                    "contentType": "application/json",
                    "headers": _HEADERS,
                    "payload": event.model.model_json_schema(),
                    "bindings": {"kafka": {"key": {"type": "string", "description": event.key_field}}},
                }
                channel_messages[name] = {"$ref": f"#/components/messages/{name}"}
            address = settings.topic(topic)
            channels[channel] = {
                "address": address,
                "messages": channel_messages,
                "bindings": {
                    "kafka": {
                        "topic": address,
                        "partitions": settings.kafka_topic_partitions,
                        "replicas": settings.kafka_replication_factor,
                    }
                },
            }
            operations[f"{action[:-1]}_{channel}"] = {
                "action": "receive" if action == "receives" else "send",
                "channel": {"$ref": f"#/channels/{channel}"},
            }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": f"Tandem {service}", "version": _version(service)},
        "defaultContentType": "application/json",
        "servers": _servers(settings),
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    out = Path(args[0] if args else "docs/asyncapi")
    out.mkdir(parents=True, exist_ok=True)
    for service in SERVICES:
        path = out / f"{service}.asyncapi.json"
        path.write_text(json.dumps(document(service), indent=2) + "\n")
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
