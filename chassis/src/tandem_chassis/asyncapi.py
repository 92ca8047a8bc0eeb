"""The AsyncAPI 3.0 document of each service, generated from the contracts.

``python -m tandem_chassis.asyncapi OUT_DIR`` writes ``<service>.asyncapi.json`` for each service.
Payloads are the committed event-data JSON Schemas; headers are the CloudEvents binary-mode
attributes.
"""

import json
import sys
from pathlib import Path
from typing import Any, Final

from tandem_contracts import EVENT_TYPES, topics

__all__ = ["SERVICES", "document", "main"]

SERVICES: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "profiles": {"receives": (topics.HR_EMPLOYEES,), "sends": (topics.PROFILES,)},
    "matching": {
        "receives": (topics.PROFILES,),
        "sends": (topics.MENTORSHIPS, topics.PROGRAMS),
    },
    "notifications": {
        "receives": (topics.PROFILES, topics.MENTORSHIPS, topics.PROGRAMS),
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


def document(service: str) -> dict[str, Any]:
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
            channels[channel] = {
                "address": topic,
                "messages": channel_messages,
                "bindings": {"kafka": {"topic": topic, "partitions": 6}},
            }
            operations[f"{action[:-1]}_{channel}"] = {
                "action": "receive" if action == "receives" else "send",
                "channel": {"$ref": f"#/channels/{channel}"},
            }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": f"Tandem {service}", "version": "1.0.0"},
        "defaultContentType": "application/json",
        "servers": {"kafka": {"host": "localhost:9092", "protocol": "kafka"}},
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
