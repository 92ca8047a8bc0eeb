"""CloudEvents 1.0 over Kafka (the Kafka protocol binding).

Producers write binary mode: ``ce_*`` headers, ``content-type: application/json``, the value is
the data. Consumers read binary and structured mode (``application/cloudevents+json``).
"""

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from tandem_contracts.base import EventData
from tandem_contracts.registry import event_type, type_of

__all__ = [
    "CloudEvent",
    "KafkaRecord",
    "MalformedEventError",
    "decode",
    "encode",
    "new_event",
    "parse_data",
]

SPEC_VERSION: Final = "1.0"
STRUCTURED_CONTENT_TYPE: Final = "application/cloudevents+json"
JSON_CONTENT_TYPE: Final = "application/json"
MAX_VALUE_BYTES: Final = 1_000_000
_REQUIRED = ("id", "source", "type", "specversion")
_OPTIONAL = ("time", "subject")


class MalformedEventError(ValueError):
    """The record is not a valid CloudEvent (a permanent error: dead-letter it)."""


class CloudEvent(BaseModel):
    """A CloudEvent with JSON ``data``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str = Field(min_length=1, max_length=256)
    source: str = Field(min_length=1, max_length=1024)
    type: str = Field(min_length=1, max_length=256)
    specversion: str = SPEC_VERSION
    time: AwareDatetime | None = Field(default=None, description="RFC 3339: with a UTC offset")
    subject: str | None = Field(default=None, max_length=1024)
    datacontenttype: str | None = JSON_CONTENT_TYPE
    data: Any = None


class KafkaRecord(BaseModel):
    """What goes on the wire: key, value, headers."""

    key: bytes | None
    value: bytes
    headers: dict[str, bytes]


def new_event(
    data: EventData,
    *,
    source: str,
    subject: str | None = None,
    event_id: str | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    """A CloudEvent carrying ``data``, typed from the registry."""
    registered = type_of(data)
    return CloudEvent(
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=registered.name,
        time=time or datetime.now(UTC),
        subject=subject if subject is not None else str(getattr(data, registered.key_field)),
        data=data.model_dump(mode="json", exclude_unset=data.partial),
    )


def encode(event: CloudEvent, *, key: str | None = None) -> KafkaRecord:
    """Binary mode: attributes as ``ce_*`` headers, the data as the value."""
    headers = {
        "ce_specversion": event.specversion.encode(),
        "ce_id": event.id.encode(),
        "ce_source": event.source.encode(),
        "ce_type": event.type.encode(),
        "content-type": (event.datacontenttype or JSON_CONTENT_TYPE).encode(),
    }
    if event.time is not None:
        headers["ce_time"] = event.time.isoformat().encode()
    if event.subject is not None:
        headers["ce_subject"] = event.subject.encode()
    key = key if key is not None else event.subject
    value = json.dumps(event.data, separators=(",", ":"), default=str).encode()
    return KafkaRecord(key=key.encode() if key else None, value=value, headers=headers)


def _header_map(headers: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    decoded: dict[str, str] = {}
    for name, raw in items:
        if raw is None:
            continue
        try:
            decoded[name.lower()] = raw.decode() if isinstance(raw, bytes) else str(raw)
        except UnicodeDecodeError as exc:
            raise MalformedEventError(f"header {name!r} is not UTF-8") from exc
    return decoded


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _loads(value: bytes, what: str) -> Any:
    """Strict RFC 8259: UTF-8 only (``json.loads`` would guess UTF-16/32), no NaN/Infinity."""
    if len(value) > MAX_VALUE_BYTES:
        raise MalformedEventError(f"{what} is {len(value)} bytes, over {MAX_VALUE_BYTES}")
    try:
        return json.loads(value.decode("utf-8"), parse_constant=_not_json)
    except UnicodeDecodeError as exc:
        raise MalformedEventError(f"{what} is not UTF-8: {exc}") from exc
    # ValueError covers JSONDecodeError and integers over Python's digit limit; RecursionError
    # is nesting deeper than the parser's stack. Both are the record's fault, never transient.
    except (ValueError, RecursionError) as exc:
        raise MalformedEventError(f"{what} is not JSON: {str(exc)[:300]}") from exc


def _build(attributes: dict[str, Any]) -> CloudEvent:
    missing = [name for name in _REQUIRED if not attributes.get(name)]
    if missing:
        raise MalformedEventError(f"missing CloudEvents attribute(s): {', '.join(missing)}")
    if attributes["specversion"] != SPEC_VERSION:
        raise MalformedEventError(f"unsupported specversion {attributes['specversion']!r}")
    try:
        return CloudEvent.model_validate(attributes)
    except ValidationError as exc:
        raise MalformedEventError(f"invalid CloudEvents attributes: {exc}") from exc


def decode(value: bytes | None, headers: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> CloudEvent:
    """Read a Kafka record in binary or structured mode; raises :class:`MalformedEventError`."""
    if value is None:
        raise MalformedEventError("empty record value (tombstone)")
    header = _header_map(headers)
    content_type = header.get("content-type", "")
    if content_type.split(";")[0].strip().lower() == STRUCTURED_CONTENT_TYPE:
        envelope = _loads(value, "structured event")
        if not isinstance(envelope, dict):
            raise MalformedEventError("structured event is not a JSON object")
        if "data_base64" in envelope:
            raise MalformedEventError("data_base64 is not supported: data must be JSON")
        return _build(envelope)
    if "ce_specversion" not in header:
        raise MalformedEventError(
            f"not a CloudEvent: no ce_specversion header and content-type is not {STRUCTURED_CONTENT_TYPE}"
        )
    attributes: dict[str, Any] = {name[3:]: text for name, text in header.items() if name.startswith("ce_")}
    if content_type and "json" not in content_type.lower():
        raise MalformedEventError(f"unsupported content-type {content_type!r}")
    attributes["datacontenttype"] = content_type or JSON_CONTENT_TYPE
    attributes["data"] = _loads(value, "event data")
    return _build(attributes)


def parse_data(event: CloudEvent, *, topic: str | None = None) -> EventData:
    """Validate ``event.data`` against its registered model.

    Raises ``UnknownEventTypeError`` or pydantic's ``ValidationError`` (both permanent).
    """
    registered = event_type(event.type, topic=topic)
    if not isinstance(event.data, dict):
        raise MalformedEventError(f"data of {event.type} is not a JSON object")
    return registered.model.model_validate(event.data)
