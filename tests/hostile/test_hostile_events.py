"""A corpus of hostile events on every consumed topic: each one is dead-lettered exactly once
(per consumer group) with its reason, and the valid events published between them all land.

Every case names what is wrong with it. Cases a tolerant reader legitimately accepts (unknown
extra fields, structured mode, upper-case language codes) are not in the corpus: they are among
the valid events, and their effects are checked.
"""

import asyncio
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from tandem_chassis.auth import mint_dev_token
from tandem_chassis.consumer import DLQ_HEADERS
from tandem_chassis.settings import ServiceSettings
from tandem_chassis.testing import eventually, read_topic
from tandem_contracts import decode, parse_data, topics

pytestmark = pytest.mark.e2e

MALFORMED, UNKNOWN, INVALID = "MalformedEventError", "UnknownEventTypeError", "ValidationError"
Headers = list[tuple[str, bytes | None]]


@dataclass(frozen=True)
class Case:
    """One record to publish; ``error`` is the dead-letter reason expected, None for a valid event."""

    name: str
    reason: str
    key: bytes | None
    value: bytes | None
    headers: Headers
    error: str | None = None
    ce_id: str | None = None


@dataclass
class Published:
    case: Case
    partition: int
    offset: int


def binary_headers(ce_type: str, ce_id: str, overrides: dict[str, bytes | None] | None = None) -> Headers:
    values: dict[str, bytes | None] = {
        "ce_specversion": b"1.0",
        "ce_id": ce_id.encode(),
        "ce_source": b"/tests/hostile",
        "ce_type": ce_type.encode(),
        "ce_time": b"2026-03-01T09:00:00+00:00",
        "content-type": b"application/json",
    } | (overrides or {})
    return [(name, value) for name, value in values.items() if value is not None]


def envelope(ce_type: str, ce_id: str, data: Any, **overrides: Any) -> dict[str, Any]:
    values = {
        "specversion": "1.0",
        "id": ce_id,
        "source": "/tests/hostile",
        "type": ce_type,
        "time": "2026-03-01T09:00:00Z",
        "datacontenttype": "application/json",
        "data": data,
    } | overrides
    return {name: value for name, value in values.items() if value is not None}


STRUCTURED: Headers = [("content-type", b"application/cloudevents+json; charset=utf-8")]
MISSING = object()
WAIT_S = 120.0  # the three services catch up on hundreds of hostile events on a shared machine


class Corpus:
    """Builds one topic's named cases; ``bad`` and ``good`` return the case they add."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.cases: list[Case] = []
        self._n = 0

    def _id(self, name: str) -> str:
        self._n += 1
        return f"{self.topic}-{self._n:04d}-{name}"[:200]

    def bad(
        self,
        name: str,
        reason: str,
        error: str,
        *,
        value: bytes | None,
        headers: Headers | None = None,
        ce_type: str | None = None,
        key: bytes | None = b"bad-key",
        h: dict[str, bytes | None] | None = None,
    ) -> Case:
        assert all(c.name != name for c in self.cases), f"duplicate case name {name}"
        ce_id = self._id(name)
        if headers is None:
            assert ce_type is not None
            headers = binary_headers(ce_type, ce_id, h)
        case = Case(name, reason, key, value, headers, error)
        self.cases.append(case)
        return case

    def bad_data(self, name: str, reason: str, ce_type: str, data: Any, error: str = INVALID) -> Case:
        """Binary mode, valid headers, the data is what is wrong."""
        return self.bad(name, reason, error, value=json.dumps(data).encode(), ce_type=ce_type)

    def good(self, name: str, key: str, ce_type: str, data: dict[str, Any], structured: bool = False) -> Case:
        ce_id = self._id(name)
        if structured:
            value = json.dumps(envelope(ce_type, ce_id, data)).encode()
            headers = STRUCTURED
        else:
            value, headers = json.dumps(data).encode(), binary_headers(ce_type, ce_id)
        case = Case(name, "valid", key.encode(), value, headers, None, ce_id)
        self.cases.append(case)
        return case


def with_field(base: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    changed = dict(base)
    if value is MISSING:
        changed.pop(name, None)
    else:
        changed[name] = value
    return changed


HUGE_TEXT = "x" * 900_000  # Kafka's default maximum message is 1 MB: stay under it
HUGE_LIST = ["en"] * 100_000


def envelope_cases(corpus: Corpus, ce_type: str, data: dict[str, Any], foreign_type: str) -> None:
    """What can be wrong with the record around well-formed data, on any topic."""
    body = json.dumps(data).encode()
    add = corpus.bad
    add("not-json", "the value is plain text", MALFORMED, value=b"hello, this is not json", ce_type=ce_type)
    add(
        "truncated-json",
        "the JSON object is cut off",
        MALFORMED,
        value=body[: len(body) // 2],
        ce_type=ce_type,
    )
    add(
        "not-utf8",
        "the value is random bytes, not UTF-8",
        MALFORMED,
        value=b"\xff\xfe\xfa\x00\x81",
        ce_type=ce_type,
    )
    add(
        "latin1-json",
        "JSON text encoded as Latin-1 (RFC 8259 requires UTF-8)",
        MALFORMED,
        value=json.dumps(data | {"display_name": "Zoë"}, ensure_ascii=False).encode("latin-1"),
        ce_type=ce_type,
    )
    add(
        "utf16-json",
        "JSON text encoded as UTF-16 (RFC 8259 requires UTF-8)",
        MALFORMED,
        value=json.dumps(data).encode("utf-16"),
        ce_type=ce_type,
    )
    add("empty-value", "a zero-length value", MALFORMED, value=b"", ce_type=ce_type)
    add("tombstone", "a null value (tombstone) on an event topic", MALFORMED, value=None, ce_type=ce_type)
    add(
        "json-array",
        "the data is a JSON array, not an object",
        MALFORMED,
        value=b"[1, 2, 3]",
        ce_type=ce_type,
    )
    add(
        "json-array-of-data",
        "the data object wrapped in an array",
        MALFORMED,
        value=b"[" + body + b"]",
        ce_type=ce_type,
    )
    add("json-number", "the data is a JSON number", MALFORMED, value=b"42", ce_type=ce_type)
    add("json-string", "the data is a JSON string", MALFORMED, value=b'"hello"', ce_type=ce_type)
    add("json-null", "the data is JSON null", MALFORMED, value=b"null", ce_type=ce_type)
    add("json-bool", "the data is JSON true", MALFORMED, value=b"true", ce_type=ce_type)
    add(
        "nan-literal",
        "NaN is not JSON (Python's parser accepts it)",
        MALFORMED,
        value=body[:-1] + b', "extra": NaN}',
        ce_type=ce_type,
    )
    add(
        "infinity-literal",
        "Infinity is not JSON (Python's parser accepts it)",
        MALFORMED,
        value=body[:-1] + b', "extra": -Infinity}',
        ce_type=ce_type,
    )
    add(
        "giant-integer",
        "a 5,000-digit integer: over Python's conversion limit, so the parser raises ValueError",
        MALFORMED,
        value=body[:-1] + b', "extra": ' + b"7" * 5000 + b"}",
        ce_type=ce_type,
    )
    add(
        "deep-nesting",
        "arrays nested 100,000 deep: the parser runs out of stack",
        MALFORMED,
        value=b"[" * 100_000 + b"]" * 100_000,
        ce_type=ce_type,
    )
    add(
        "no-specversion",
        "binary data without ce_specversion",
        MALFORMED,
        value=body,
        ce_type=ce_type,
        h={"ce_specversion": None},
    )
    add("no-headers", "JSON data and no headers at all", MALFORMED, value=body, headers=[])
    add(
        "specversion-0.3",
        "CloudEvents 0.3 is not supported",
        MALFORMED,
        value=body,
        ce_type=ce_type,
        h={"ce_specversion": b"0.3"},
    )
    add(
        "specversion-2",
        "specversion 2.0 does not exist",
        MALFORMED,
        value=body,
        ce_type=ce_type,
        h={"ce_specversion": b"2.0"},
    )
    add(
        "specversion-empty",
        "empty ce_specversion",
        MALFORMED,
        value=body,
        ce_type=ce_type,
        h={"ce_specversion": b""},
    )
    add("no-id", "ce_id is required", MALFORMED, value=body, ce_type=ce_type, h={"ce_id": None})
    add("empty-id", "ce_id must be non-empty", MALFORMED, value=body, ce_type=ce_type, h={"ce_id": b""})
    add(
        "huge-id",
        "ce_id over 256 characters",
        MALFORMED,
        value=body,
        ce_type=ce_type,
        h={"ce_id": b"i" * 5000},
    )
    add("no-source", "ce_source is required", MALFORMED, value=body, ce_type=ce_type, h={"ce_source": None})
    add(
        "empty-source",
        "ce_source must be non-empty",
        MALFORMED,
        value=body,
        ce_type=ce_type,
        h={"ce_source": b""},
    )
    add("no-type", "ce_type is required", MALFORMED, value=body, ce_type=ce_type, h={"ce_type": None})
    add("unknown-type", "a type no contract defines", UNKNOWN, value=body, ce_type=ce_type + ".promoted.v9")
    add("type-wrong-case", "types are case-sensitive", UNKNOWN, value=body, ce_type=ce_type.upper())
    add(
        "type-of-other-topic",
        f"{foreign_type} does not belong on {corpus.topic}",
        UNKNOWN,
        value=body,
        ce_type=foreign_type,
    )
    add(
        "time-not-a-date",
        "ce_time is not RFC 3339",
        MALFORMED,
        value=body,
        ce_type=ce_type,
        h={"ce_time": b"yesterday"},
    )
    add(
        "time-impossible",
        "ce_time month 13, day 45",
        MALFORMED,
        value=body,
        ce_type=ce_type,
        h={"ce_time": b"2026-13-45T00:00:00Z"},
    )
    add(
        "time-without-offset",
        "RFC 3339 requires a UTC offset; a naive time is read in the server's zone",
        MALFORMED,
        value=body,
        ce_type=ce_type,
        h={"ce_time": b"2026-03-01T09:00:00"},
    )
    add(
        "header-not-utf8",
        "ce_source is not UTF-8",
        MALFORMED,
        value=body,
        ce_type=ce_type,
        h={"ce_source": b"\xff\xfe/hr"},
    )
    add(
        "header-null-value",
        "a ce_type header whose value is null",
        MALFORMED,
        value=body,
        headers=[(n, None if n == "ce_type" else v) for n, v in binary_headers(ce_type, "null-type")],
    )
    add(
        "content-type-text",
        "content-type text/plain is not JSON",
        MALFORMED,
        value=body,
        ce_type=ce_type,
        h={"content-type": b"text/plain"},
    )
    add(
        "content-type-xml",
        "content-type application/xml",
        MALFORMED,
        value=body,
        ce_type=ce_type,
        h={"content-type": b"application/xml"},
    )
    add(
        "binary-data-as-structured",
        "binary data labelled application/cloudevents+json: no envelope attributes in it",
        MALFORMED,
        value=body,
        ce_type=ce_type,
        h={"content-type": b"application/cloudevents+json"},
    )
    add(
        "structured-as-binary",
        "a structured envelope sent with binary headers: the data is the envelope",
        INVALID,
        value=json.dumps(envelope(ce_type, "inner", data)).encode(),
        ce_type=ce_type,
    )
    structured = [
        ("structured-no-id", "the envelope has no id", envelope(ce_type, "x", data, id=None)),
        ("structured-no-source", "the envelope has no source", envelope(ce_type, "x", data, source=None)),
        ("structured-no-type", "the envelope has no type", envelope(ce_type, "x", data, type=None)),
        (
            "structured-no-specversion",
            "the envelope has no specversion",
            envelope(ce_type, "x", data, specversion=None),
        ),
        ("structured-specversion-0.3", "specversion 0.3", envelope(ce_type, "x", data, specversion="0.3")),
        ("structured-id-number", "id must be a string", envelope(ce_type, "x", data, id=17)),
        ("structured-time-bad", "time is not RFC 3339", envelope(ce_type, "x", data, time="31/12/2025")),
        (
            "structured-data-base64",
            "data_base64 instead of JSON data",
            envelope(ce_type, "x", None, data_base64="e30="),
        ),
        (
            "structured-data-string",
            "data is a JSON string holding JSON",
            envelope(ce_type, "x", json.dumps(data)),
        ),
        ("structured-data-missing", "the envelope carries no data", envelope(ce_type, "x", None)),
    ]
    for name, reason, value in structured:
        add(name, reason, MALFORMED, value=json.dumps(value).encode(), headers=STRUCTURED)
    add(
        "structured-array",
        "a structured envelope that is an array",
        MALFORMED,
        value=b"[]",
        headers=STRUCTURED,
    )
    add(
        "structured-not-json",
        "structured content-type, text value",
        MALFORMED,
        value=b"<event/>",
        headers=STRUCTURED,
    )
    add(
        "structured-unknown-type",
        "a structured envelope of an unknown type",
        UNKNOWN,
        value=json.dumps(envelope("com.example.unknown", "x", data)).encode(),
        headers=STRUCTURED,
    )


def field_cases(
    corpus: Corpus, ce_type: str, base: dict[str, Any], cases: list[tuple[str, Any, str]]
) -> None:
    """Data cases: ``(field, value or MISSING, reason)``; the name says type, field and what."""
    short = ce_type.rsplit(".", 1)[-1]
    for name, value, reason in cases:
        slug = "-".join(re.findall(r"[a-z0-9]+", reason.lower()))[:60]
        corpus.bad_data(f"{short}-{name}-{slug}", reason, ce_type, with_field(base, name, value))


# --- hr.employees: the public HR contract, to the letter --------------------------------------

JOINED = {
    "employee_id": "bad-hr",
    "email": "hostile@example.com",
    "display_name": "Hostile Input",
    "department": "Engineering",
    "level": 3,
    "timezone": "Europe/Berlin",
    "languages": ["en"],
    "start_date": "2024-01-15",
}

EMPLOYEE_FIELD_CASES: list[tuple[str, Any, str]] = [
    ("employee_id", 1234, "employee_id must be a string"),
    ("employee_id", None, "employee_id must not be null"),
    ("employee_id", "", "employee_id must be non-empty"),
    ("employee_id", "   ", "employee_id is blank after trimming"),
    ("employee_id", "e" * 129, "employee_id over 128 characters"),
    ("employee_id", ["e-1"], "employee_id must be a string, not a list"),
    ("level", "5", "level is an integer, not a numeric string"),
    ("level", True, "level is an integer, not a boolean"),
    ("level", 0, "levels start at 1"),
    ("level", -3, "negative level"),
    ("level", 21, "level over 20"),
    ("level", 2.5, "fractional level"),
    ("level", 10**30, "level far beyond any integer type"),
    ("level", {"grade": 3}, "level is an object"),
    ("manager_id", "", "manager_id must be non-empty"),
    ("manager_id", 77, "manager_id must be a string"),
    ("department", 12, "department must be a string"),
    ("department", "d" * 300, "department over 256 characters"),
    ("job_title", ["engineer"], "job_title is a list"),
    ("location", {"city": "Berlin"}, "location is an object"),
    ("timezone", "Mars/Olympus_Mons", "not an IANA time zone"),
    ("timezone", "+02:00", "an offset is not an IANA time zone"),
    ("timezone", 2, "timezone is a number"),
    ("timezone", "Europe/" + "x" * 100, "timezone over 64 characters"),
    ("languages", "en", "languages is a list, not a string"),
    ("languages", ["english"], "not an ISO 639-1 code"),
    ("languages", ["zz"], "two letters, but not ISO 639-1"),
    ("languages", ["en-US"], "a BCP 47 tag, not an ISO 639-1 code"),
    ("languages", [1], "language code is a number"),
    ("languages", ["e"], "one letter"),
    ("languages", HUGE_LIST, "100,000 languages"),
    ("languages", ["en"] * 51, "over 50 languages"),
    ("start_date", "2024-02-30", "30 February"),
    ("start_date", "yesterday", "not a date"),
    ("start_date", "01/02/2024", "not ISO 8601"),
    ("start_date", "2024-01-15T10:00:00", "a datetime, not a date"),
    ("start_date", 0, "a number is not a date"),
    ("start_date", 1_700_000_000, "a Unix timestamp is not a date"),
]

JOINED_ONLY_CASES: list[tuple[str, Any, str]] = [
    ("employee_id", MISSING, "employee_id is required"),
    ("display_name", MISSING, "display_name is required"),
    ("email", 42, "email must be a string"),
    ("email", "", "empty email"),
    ("email", "not-an-email", "no @"),
    ("email", "a@@example.com", "two @"),
    ("email", "@example.com", "no local part"),
    ("email", "grace@", "no domain"),
    ("email", "grace hopper@example.com", "whitespace in the address"),
    ("email", "g" * 250 + "@example.com", "over 254 characters"),
    ("display_name", "", "empty display_name"),
    ("display_name", "    ", "blank display_name"),
    ("display_name", None, "display_name must not be null on joined"),
    ("display_name", 3.14, "display_name is a number"),
    ("display_name", ["Grace", "Hopper"], "display_name is a list"),
    ("display_name", HUGE_TEXT, "a 900 KB display_name"),
]

UPDATED = {"employee_id": "bad-hr", "department": "Research"}
UPDATED_CASES: list[tuple[str, Any, str]] = [
    ("employee_id", MISSING, "employee_id is required"),
    ("employee_id", 5, "employee_id must be a string"),
    ("email", "nobody", "not an email"),
    ("display_name", "", "empty display_name"),
    ("display_name", HUGE_TEXT, "a 900 KB display_name"),
    ("level", -1, "negative level"),
    ("level", "senior", "level is text"),
    ("timezone", "Europe/Atlantis", "not an IANA time zone"),
    ("languages", ["xx", "yy"], "not ISO 639-1"),
    ("start_date", "2024-13-01", "month 13"),
]

LEFT = {"employee_id": "bad-hr", "last_day": "2026-02-27"}
LEFT_CASES: list[tuple[str, Any, str]] = [
    ("employee_id", MISSING, "employee_id is required"),
    ("employee_id", None, "employee_id is null"),
    ("employee_id", {"id": "e-1"}, "employee_id is an object"),
    ("last_day", "2026-02-30", "30 February"),
    ("last_day", "last friday", "not a date"),
    ("last_day", 20260227, "a number is not a date"),
]


def hr_corpus() -> Corpus:
    corpus = Corpus(topics.HR_EMPLOYEES)
    envelope_cases(corpus, "hr.employee.joined", JOINED, foreign_type="profile.registered")
    field_cases(corpus, "hr.employee.joined", JOINED, JOINED_ONLY_CASES + EMPLOYEE_FIELD_CASES)
    field_cases(corpus, "hr.employee.updated", UPDATED, UPDATED_CASES)
    field_cases(corpus, "hr.employee.left", LEFT, LEFT_CASES)
    corpus.bad_data(
        "joined-type-with-left-data",
        "ce_type says joined but the data is a leave (no email, no display_name)",
        "hr.employee.joined",
        LEFT,
    )
    corpus.bad_data(
        "joined-type-with-profile-data",
        "ce_type says joined, the data is a profile snapshot without the HR fields",
        "hr.employee.joined",
        {"employee_id": "bad-hr", "version": 3, "status": "active"},
    )
    for ce_type, base in (("hr.employee.updated", UPDATED), ("hr.employee.left", LEFT)):
        corpus.bad_data(f"{ce_type}-data-array", "data is an array", ce_type, [base], error=MALFORMED)
    return corpus


# --- tandem.profiles -----------------------------------------------------------------------------

SNAPSHOT = {
    "employee_id": "bad-pp",
    "version": 1,
    "status": "active",
    "email": "pp@example.com",
    "display_name": "Profile Snapshot",
    "level": 4,
    "languages": ["en"],
    "roles": ["mentor"],
    "skills": [{"name": "python", "level": 4}],
    "mentor_capacity": 2,
}
SNAPSHOT_CASES: list[tuple[str, Any, str]] = [
    ("employee_id", MISSING, "employee_id is required"),
    ("version", MISSING, "version is required: consumers drop stale versions by it"),
    ("status", MISSING, "status is required"),
    ("version", 0, "versions start at 1"),
    ("version", -7, "negative version"),
    ("version", "2", "version is a numeric string"),
    ("version", 2**70, "a version no store can hold"),
    ("status", "deleted", "not a profile status"),
    ("status", None, "status is null"),
    ("level", -5, "negative level"),
    ("level", 10**30, "level beyond any integer type"),
    ("roles", ["boss"], "not a role"),
    ("roles", "mentor", "roles is a string"),
    ("skills", [{"name": "", "level": 3}], "empty skill name"),
    ("skills", [{"name": "go", "level": 9}], "skill level over 5"),
    ("skills", [{"name": "go"}] * 40_000, "40,000 skills"),
    ("mentor_capacity", -1, "negative capacity"),
    ("mentor_capacity", 10**20, "capacity beyond any integer type"),
    ("availability_hours_per_month", -10, "negative hours"),
    ("display_name", HUGE_TEXT, "a 900 KB display_name"),
    ("bio", HUGE_TEXT, "a 900 KB bio"),
    ("languages", HUGE_LIST, "100,000 languages"),
    ("interests", ["x"] * 50_000, "50,000 interests"),
    ("email", 17, "email is a number"),
    ("preferences", {"department": "nearby"}, "not a department preference"),
    ("start_date", "2024-02-30", "30 February"),
    ("left_at", "yesterday", "not a datetime"),
]


def profiles_corpus() -> Corpus:
    corpus = Corpus(topics.PROFILES)
    envelope_cases(corpus, "profile.registered", SNAPSHOT, foreign_type="hr.employee.joined")
    field_cases(corpus, "profile.registered", SNAPSHOT, SNAPSHOT_CASES)
    corpus.bad_data(
        "erased-without-version",
        "an erasure without a version cannot be ordered",
        "profile.erased",
        {"employee_id": "bad-pp", "status": "erased"},
    )
    return corpus


# --- tandem.mentorships ------------------------------------------------------------------------------

MENTORSHIP = {
    "mentorship_id": "bad-m",
    "version": 1,
    "mentor_id": "pp-0",
    "mentee_id": "pp-1",
    "status": "proposed",
    "origin": "request",
    "score": 0.5,
}
MENTORSHIP_CASES: list[tuple[str, Any, str]] = [
    ("mentorship_id", MISSING, "mentorship_id is required"),
    ("mentor_id", MISSING, "mentor_id is required"),
    ("mentee_id", MISSING, "mentee_id is required"),
    ("status", MISSING, "status is required"),
    ("mentorship_id", "", "empty mentorship_id"),
    ("mentorship_id", 99, "mentorship_id is a number"),
    ("mentor_id", "", "empty mentor_id"),
    ("status", "pending", "not a mentorship status"),
    ("origin", "magic", "not an origin"),
    ("reason", "fired", "not an end reason"),
    ("score", "high", "score is text"),
    ("breakdown", {"goal_fit": "lots"}, "breakdown values are numbers"),
    ("version", "one", "version is text"),
    ("version", 0, "versions start at 1"),
    ("proposed_at", "tomorrow", "not a datetime"),
    ("message", HUGE_TEXT, "a 900 KB message"),
    ("reasons", "good fit", "reasons is a list"),
]


def mentorships_corpus() -> Corpus:
    corpus = Corpus(topics.MENTORSHIPS)
    envelope_cases(corpus, "mentorship.proposed", MENTORSHIP, foreign_type="program.created")
    field_cases(corpus, "mentorship.proposed", MENTORSHIP, MENTORSHIP_CASES)
    corpus.bad_data(
        "ended-bad-reason",
        "mentorship.ended with a reason outside the contract",
        "mentorship.ended",
        MENTORSHIP | {"status": "ended", "reason": "bored"},
    )
    return corpus


# --- tandem.programs ---------------------------------------------------------------------------------

ROUND = {
    "program_id": "bad-p",
    "round_id": "r-1",
    "admin_ids": ["pp-2"],
    "matched": 1,
    "unmatched": 0,
    "total_score": 0.8,
}
PROGRAM = {"program_id": "bad-p", "name": "Hostile program", "objective": "score"}
ROUND_CASES: list[tuple[str, Any, str]] = [
    ("program_id", MISSING, "program_id is required"),
    ("round_id", MISSING, "round_id is required"),
    ("matched", MISSING, "matched is required"),
    ("total_score", MISSING, "total_score is required"),
    ("matched", "many", "matched is text"),
    ("admin_ids", "pp-2", "admin_ids is a string"),
    ("mentor_load", {"1": "x"}, "mentor load counts are integers"),
    ("completed_at", "soon", "not a datetime"),
]
PROGRAM_CASES: list[tuple[str, Any, str]] = [
    ("name", MISSING, "name is required"),
    ("objective", "speed", "not an objective"),
    ("program_id", None, "program_id is null"),
]


def programs_corpus() -> Corpus:
    corpus = Corpus(topics.PROGRAMS)
    envelope_cases(corpus, "program.round_completed", ROUND, foreign_type="mentorship.accepted")
    field_cases(corpus, "program.round_completed", ROUND, ROUND_CASES)
    field_cases(corpus, "program.created", PROGRAM, PROGRAM_CASES)
    return corpus


def corpora() -> dict[str, Corpus]:
    return {c.topic: c for c in (hr_corpus(), profiles_corpus(), mentorships_corpus(), programs_corpus())}


# --- valid events between them --------------------------------------------------------------------


def interleave(bad: list[Case], make_good: Callable[[int], Case | None], every: int = 3) -> list[Case]:
    """The bad cases with a valid event after every ``every`` of them (and one first)."""
    mixed: list[Case] = []
    n = 0
    for i, case in enumerate(bad):
        if i % every == 0 and (good := make_good(n)) is not None:
            mixed.append(good)
            n += 1
        mixed.append(case)
    if (good := make_good(n)) is not None:
        mixed.append(good)
    return mixed


@dataclass
class Expectations:
    hr_active: dict[str, str] = field(default_factory=dict)  # employee id -> department
    hr_inactive: set[str] = field(default_factory=set)
    snapshots: dict[str, int] = field(default_factory=dict)  # employee id -> version
    notified_events: set[str] = field(default_factory=set)  # event ids that notify someone


def hr_valid(corpus: Corpus, expect: Expectations) -> Callable[[int], Case]:
    def make(n: int) -> Case:
        employee = f"hr-{n:03d}"
        data = {
            "employee_id": employee,
            "email": f"{employee}@example.com",
            "display_name": f"Valid {n}",
            "department": f"dept-{n % 4}",
            "level": 1 + n % 8,
            "timezone": "America/New_York",
            "languages": ["EN", "de"],  # upper case is read as ISO 639-1 all the same
            "start_date": "2023-05-01",
        }
        variant = n % 5
        if variant == 1:
            data["cost_centre"] = "CC-17"  # unknown extra field: the tolerant reader ignores it
        if variant == 3 and n >= 3:
            # an update of an earlier employee, absent fields unchanged
            earlier = f"hr-{n - 2:03d}"
            expect.hr_active[earlier] = "Moved"
            return corpus.good(
                f"valid-update-{n}",
                earlier,
                "hr.employee.updated",
                {
                    "employee_id": earlier,
                    "department": "Moved",
                    "sponsor": {"nested": [1, 2]},
                },
            )
        if variant == 4 and n >= 4:
            leaver = f"hr-{n - 4:03d}"
            expect.hr_active.pop(leaver, None)
            expect.hr_inactive.add(leaver)
            return corpus.good(
                f"valid-left-{n}",
                leaver,
                "hr.employee.left",
                {"employee_id": leaver, "last_day": "2026-02-27"},
            )
        if employee not in expect.hr_inactive:
            expect.hr_active[employee] = str(data["department"])
        return corpus.good(f"valid-joined-{n}", employee, "hr.employee.joined", data, structured=variant == 2)

    return make


def profile_valid(corpus: Corpus, expect: Expectations) -> Callable[[int], Case]:
    def make(n: int) -> Case:
        employee = f"pp-{n:03d}"
        expect.snapshots[employee] = 1
        data = SNAPSHOT | {
            "employee_id": employee,
            "email": f"{employee}@example.com",
            "display_name": f"Snapshot {n}",
            "roles": ["mentor", "mentee"],
            "goals": [{"name": "rust", "level": 2}],
            "future_field": "ignored",
        }
        return corpus.good(
            f"valid-registered-{n}", employee, "profile.registered", data, structured=n % 4 == 2
        )

    return make


def mentorship_valid(corpus: Corpus, expect: Expectations) -> Callable[[int], Case]:
    def make(n: int) -> Case:
        mentorship = f"m-{n:03d}"
        data = MENTORSHIP | {"mentorship_id": mentorship, "mentor_id": "pp-000", "mentee_id": "pp-001"}
        case = corpus.good(
            f"valid-proposed-{n}", mentorship, "mentorship.proposed", data, structured=n % 3 == 1
        )
        assert case.ce_id is not None
        expect.notified_events.add(case.ce_id)
        return case

    return make


def program_valid(corpus: Corpus, expect: Expectations) -> Callable[[int], Case]:
    def make(n: int) -> Case:
        program = f"p-{n:03d}"
        data = ROUND | {"program_id": program, "round_id": f"r-{n}", "admin_ids": ["pp-002"]}
        case = corpus.good(f"valid-round-{n}", program, "program.round_completed", data)
        assert case.ce_id is not None
        expect.notified_events.add(case.ce_id)
        return case

    return make


# --- the test ------------------------------------------------------------------------------------------


async def publish(bootstrap: str, topic: str, cases: list[Case]) -> list[Published]:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, max_request_size=1_048_576
    )
    await producer.start()
    try:
        futures = [await producer.send(topic, value=c.value, key=c.key, headers=c.headers) for c in cases]
        metadata = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return [Published(c, m.partition, m.offset) for c, m in zip(cases, metadata, strict=True)]


def test_the_corpus_is_big_named_and_every_case_has_a_reason():
    found = corpora()
    names = [(topic, c.name) for topic, corpus in found.items() for c in corpus.cases]
    assert len(names) == len(set(names))
    assert all(c.reason and c.error for corpus in found.values() for c in corpus.cases)
    assert sum(len(corpus.cases) for corpus in found.values()) >= 200
    assert set(found) == {topics.HR_EMPLOYEES, topics.PROFILES, topics.MENTORSHIPS, topics.PROGRAMS}
    assert all(len(c.value or b"") < 1_000_000 for corpus in found.values() for c in corpus.cases)


def test_the_codec_refuses_every_case_for_its_stated_reason():
    """The same verdicts the consumers reach, without a broker: each case fails as expected."""
    wrong = []
    for topic, corpus in corpora().items():
        for case in corpus.cases:
            try:
                parse_data(decode(case.value, case.headers), topic=topic)
            except Exception as error:  # the verdict is the error's type
                if type(error).__name__ != case.error:
                    wrong.append(f"{topic} {case.name}: {type(error).__name__}: {str(error)[:200]}")
            else:
                wrong.append(f"{topic} {case.name}: accepted")
    assert not wrong, "\n".join(wrong)


def consumer_verdict(case: Case) -> str | None:
    """The consumers refuse a value over their size limit before the codec sees it."""
    if len(case.value or b"") > ServiceSettings().consumer_max_event_bytes:
        return "EventTooLarge"
    return case.error


def _dlq_by_origin(records) -> Iterator[tuple[tuple[str, int, int], Any, dict[str, bytes]]]:
    for record in records:
        headers = dict(record.headers)
        origin = (
            headers["dlq-consumer-group"].decode(),
            int(headers["dlq-original-partition"]),
            int(headers["dlq-original-offset"]),
        )
        yield origin, record, headers


async def test_every_hostile_event_is_dead_lettered_once_with_its_reason_and_the_valid_ones_land(
    platform, mongo_client
):
    found = corpora()
    expect = Expectations()
    makers = {
        topics.HR_EMPLOYEES: hr_valid,
        topics.PROFILES: profile_valid,
        topics.MENTORSHIPS: mentorship_valid,
        topics.PROGRAMS: program_valid,
    }
    streams: dict[str, list[Case]] = {}
    for topic, corpus in found.items():
        bad = list(corpus.cases)
        streams[topic] = interleave(bad, makers[topic](corpus, expect))
    # consumer groups per topic: tandem.profiles is read by matching, notifications and relationships
    prefix = platform.env["TANDEM_KAFKA_GROUP_PREFIX"]
    relationships = f"{prefix}tandem-relationships"
    groups = {
        topics.HR_EMPLOYEES: [f"{prefix}tandem-profiles"],
        topics.PROFILES: [f"{prefix}tandem-matching", f"{prefix}tandem-notifications", relationships],
        topics.MENTORSHIPS: [f"{prefix}tandem-notifications", relationships],
        topics.PROGRAMS: [f"{prefix}tandem-notifications", relationships],
    }

    # Phase 1: people first (the mentorship and program notices need their recipients).
    published: dict[str, list[Published]] = {}
    for topic in (topics.HR_EMPLOYEES, topics.PROFILES):
        published[topic] = await publish(platform.bootstrap, platform.topic(topic), streams[topic])
    recipients = mongo_client[platform.database("notifications")]["recipients"]

    async def people_known() -> bool:
        wanted = {"pp-000", "pp-001", "pp-002"}
        have = {d["_id"] for d in await recipients.find({"_id": {"$in": list(wanted)}}).to_list()}
        assert have == wanted, f"recipients so far: {sorted(have)}"
        return True

    await eventually(people_known, "the mentorship parties in the recipient projection", timeout_s=WAIT_S)
    for topic in (topics.MENTORSHIPS, topics.PROGRAMS):
        published[topic] = await publish(platform.bootstrap, platform.topic(topic), streams[topic])

    # Every bad case is dead-lettered exactly once per consumer group, mapped back by offset.
    for topic, records in published.items():
        bad = {(p.partition, p.offset): p.case for p in records if p.case.error}
        expected = len(bad) * len(groups[topic])
        dead = await read_topic(
            platform.bootstrap, platform.topic(topics.dlq(topic)), until=expected, timeout_s=120
        )
        seen: Counter[tuple[str, int, int]] = Counter()
        for (group, partition, offset), record, headers in _dlq_by_origin(dead):
            seen[(group, partition, offset)] += 1
            case = bad.get((partition, offset))
            assert case is not None, f"{topic}: a valid event was dead-lettered: {headers}"
            assert group in groups[topic]
            assert all(headers.get(name) for name in DLQ_HEADERS), (case.name, headers.keys())
            assert headers["dlq-original-topic"].decode() == platform.topic(topic)
            assert headers["dlq-error-type"].decode() == consumer_verdict(case), (
                f"{topic} {case.name}: {headers['dlq-error-type']!r} {headers['dlq-error-message'][:300]!r}"
            )
            assert record.key == case.key and (record.value or b"") == (case.value or b"")
        missing = [
            (group, case.name)
            for (p, o), case in bad.items()
            for group in groups[topic]
            if not seen[(group, p, o)]
        ]
        assert not missing, f"{topic}: not dead-lettered: {missing}"
        assert max(seen.values()) == 1, (
            f"{topic}: dead-lettered twice: {[k for k, v in seen.items() if v > 1]}"
        )
        assert len(dead) == expected

    # The valid events around them all took effect.
    profiles = mongo_client[platform.database("profiles")]["profiles"]
    matching = mongo_client[platform.database("matching")]["profiles"]
    deliveries = mongo_client[platform.database("notifications")]["deliveries"]

    async def hr_applied() -> bool:
        ids = [*expect.hr_active, *expect.hr_inactive]
        stored = {d["_id"]: d for d in await profiles.find({"_id": {"$in": ids}}).to_list()}
        wrong = [
            e
            for e, dept in expect.hr_active.items()
            if e not in stored
            or stored[e]["status"] != "active"
            or stored[e]["hr"].get("department") != dept
            or stored[e]["hr"].get("languages") != ["en", "de"]
        ] + [e for e in expect.hr_inactive if e not in stored or stored[e]["status"] != "inactive"]
        assert not wrong, f"not applied: {wrong[:10]}"
        return True

    async def snapshots_projected() -> bool:
        ids = list(expect.snapshots)
        in_matching = {d["_id"] for d in await matching.find({"_id": {"$in": ids}}).to_list()}
        in_notifications = {d["_id"] for d in await recipients.find({"_id": {"$in": ids}}).to_list()}
        lacking = sorted(set(ids) - (in_matching & in_notifications))
        assert not lacking, f"not projected: {lacking[:10]}"
        return True

    async def notices_recorded() -> bool:
        recorded = {
            d["event_id"]
            for d in await deliveries.find({"event_id": {"$in": list(expect.notified_events)}}).to_list()
        }
        lacking = expect.notified_events - recorded
        assert not lacking, f"no deliveries for {sorted(lacking)[:10]}"
        return True

    await eventually(hr_applied, "the valid HR events in the profiles store", timeout_s=WAIT_S)
    await eventually(snapshots_projected, "the valid snapshots in both projections", timeout_s=WAIT_S)
    await eventually(
        notices_recorded, "deliveries for the valid mentorship and program events", timeout_s=WAIT_S
    )

    # HR employees also reached the downstream projections through the profiles service, and
    # the HTTP API serves them.
    active = sorted(expect.hr_active)

    async def hr_downstream() -> bool:
        count = await matching.count_documents({"_id": {"$in": active}, "status": "active"})
        assert count == len(active), f"{count}/{len(active)} active in matching"
        return True

    await eventually(hr_downstream, "HR employees in matching's projection", timeout_s=WAIT_S)
    secret = platform.env["TANDEM_JWT_SECRET"]
    async with httpx.AsyncClient(base_url=platform["profiles"].url) as client:
        for employee in (active[0], active[-1]):
            token = mint_dev_token(secret, sub=employee, roles=["employee"])
            answer = await client.get(
                f"/v1/profiles/{employee}", headers={"Authorization": f"Bearer {token}"}
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["department"] == expect.hr_active[employee]
            assert answer.json()["status"] == "active"

    # Nothing more trickles in: still exactly once, every service still healthy.
    await asyncio.sleep(2.0)
    for topic, records in published.items():
        bad_count = sum(1 for p in records if p.case.error) * len(groups[topic])
        again = await read_topic(platform.bootstrap, platform.topic(topics.dlq(topic)), until=bad_count)
        assert len(again) == bad_count
    async with httpx.AsyncClient() as client:
        for service in platform.services.values():
            assert (await client.get(f"{service.url}/health/ready")).status_code == 200
