import json

import pytest
from pydantic import ValidationError
from tandem_contracts import (
    EmployeeJoined,
    EmployeeUpdated,
    MalformedEventError,
    UnknownEventTypeError,
    decode,
    encode,
    new_event,
    parse_data,
    topics,
)

pytestmark = pytest.mark.unit


def _joined() -> EmployeeJoined:
    return EmployeeJoined(employee_id="e-1", email="ada@example.com", display_name="Ada")


def test_binary_mode_round_trips_attributes_and_data():
    event = new_event(_joined(), source="/hr/test")
    record = encode(event)

    assert record.key == b"e-1"
    assert record.headers["ce_type"] == b"hr.employee.joined"
    assert record.headers["content-type"] == b"application/json"
    assert json.loads(record.value)["email"] == "ada@example.com"
    decoded = decode(record.value, record.headers)
    assert decoded.id == event.id
    assert decoded.subject == "e-1"
    assert parse_data(decoded, topic=topics.HR_EMPLOYEES) == _joined()


def test_structured_mode_is_read():
    envelope = {
        "specversion": "1.0",
        "id": "x-1",
        "source": "/hr/workday",
        "type": "hr.employee.left",
        "time": "2026-01-02T03:04:05Z",
        "data": {"employee_id": "e-9", "last_day": "2026-01-31"},
    }
    headers = [("content-type", b"application/cloudevents+json; charset=utf-8")]

    event = decode(json.dumps(envelope).encode(), headers)

    assert event.id == "x-1"
    assert parse_data(event).model_dump(mode="json") == {
        "employee_id": "e-9",
        "last_day": "2026-01-31",
    }


def test_unknown_fields_are_ignored_by_readers():
    record = encode(new_event(_joined(), source="/t"))
    data = json.loads(record.value) | {"favourite_colour": "green"}

    parsed = parse_data(decode(json.dumps(data).encode(), record.headers))

    assert parsed == _joined()


def test_updated_remembers_which_fields_were_sent():
    update = EmployeeUpdated.model_validate({"employee_id": "e-1", "department": None})
    assert update.model_fields_set == {"employee_id", "department"}


@pytest.mark.parametrize(
    ("value", "headers", "reason"),
    [
        (
            b"not json",
            {"ce_specversion": b"1.0", "ce_id": b"1", "ce_source": b"s", "ce_type": b"t"},
            "not JSON",
        ),
        (b"{}", {}, "no ce_specversion"),
        (b"{}", {"ce_specversion": b"1.0", "ce_source": b"s", "ce_type": b"t"}, "missing CloudEvents"),
        (b"{}", {"ce_specversion": b"0.3", "ce_id": b"1", "ce_source": b"s", "ce_type": b"t"}, "specversion"),
        (b"[1]", {"content-type": b"application/cloudevents+json"}, "not a JSON object"),
        (None, {"ce_specversion": b"1.0"}, "tombstone"),
    ],
)
def test_malformed_records_raise_with_a_reason(value, headers, reason):
    with pytest.raises(MalformedEventError, match=reason):
        decode(value, headers)


def test_unknown_type_and_invalid_data_are_rejected():
    record = encode(new_event(_joined(), source="/t"))
    wrong_type = dict(record.headers) | {"ce_type": b"hr.employee.promoted"}
    with pytest.raises(UnknownEventTypeError):
        parse_data(decode(record.value, wrong_type))
    with pytest.raises(ValidationError):
        parse_data(decode(b'{"employee_id": "e-1", "email": "nope"}', record.headers))
    with pytest.raises(UnknownEventTypeError):
        parse_data(decode(record.value, record.headers), topic=topics.PROFILES)


def test_timezone_and_languages_are_checked():
    with pytest.raises(ValidationError, match="IANA"):
        EmployeeJoined(employee_id="e", email="a@b.c", display_name="A", timezone="Mars/Base")
    with pytest.raises(ValidationError):
        EmployeeJoined(employee_id="e", email="a@b.c", display_name="A", languages=["english"])
    assert EmployeeJoined(employee_id="e", email="a@b.c", display_name="A", languages=["EN"]).languages == [
        "en"
    ]
