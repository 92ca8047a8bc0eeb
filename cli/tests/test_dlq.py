import asyncio

import pytest
from tandem_chassis.kafka import ensure_topics
from tandem_chassis.testing import as_record, publish_raw, read_topic
from tandem_cli.main import app
from tandem_contracts import EmployeeJoined, new_event, topics
from typer.testing import CliRunner

pytestmark = pytest.mark.integration


def _dead_letter(original_topic: str) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    event = new_event(
        EmployeeJoined(employee_id="e-42", email="ada@example.com", display_name="Ada"),
        source="/tests",
    )
    key, value, headers = as_record(event)
    return (
        key,
        value,
        [
            *headers,
            ("dlq-original-topic", original_topic.encode()),
            ("dlq-original-partition", b"1"),
            ("dlq-original-offset", b"17"),
            ("dlq-consumer-group", b"tandem-profiles"),
            ("dlq-error-type", b"ValidationError"),
            ("dlq-error-message", b"a bug, since fixed"),
            ("dlq-failed-at", b"2025-01-02T03:04:05+00:00"),
        ],
    )


def _invoke(*args: str):
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result


async def test_dead_letters_are_listed_then_replayed_to_their_topic_exactly_once(service_settings):
    settings = service_settings()
    bootstrap, prefix = settings.kafka_bootstrap_servers, settings.kafka_topic_prefix
    await ensure_topics(settings=settings, names=(topics.HR_EMPLOYEES,))
    original = settings.topic(topics.HR_EMPLOYEES)
    key, value, headers = _dead_letter(original)
    await publish_raw(bootstrap, topics.dlq(original), [(key, value, headers)])
    options = ("--bootstrap-servers", bootstrap, "--topic-prefix", prefix)

    listed = await asyncio.to_thread(_invoke, "dlq", "list", "hr.employees", *options)
    assert "e-42" in listed.output
    assert "ValidationError" in listed.output
    assert "a bug, since fixed" in listed.output

    dry = await asyncio.to_thread(_invoke, "dlq", "replay", "hr.employees.dlq", "--dry-run", *options)
    assert "would be replayed" in dry.output
    first = await asyncio.to_thread(_invoke, "dlq", "replay", "hr.employees", *options)
    assert "replayed 1 record" in first.output

    landed = await read_topic(bootstrap, original, until=1)
    assert [(r.key, r.value) for r in landed] == [(key, value)]
    replayed_headers = dict(landed[0].headers)
    assert replayed_headers["ce_type"] == b"hr.employee.joined"
    assert not [name for name in replayed_headers if name.startswith("dlq-")]

    second = await asyncio.to_thread(_invoke, "dlq", "replay", "hr.employees", *options)
    assert "nothing to replay" in second.output
    await asyncio.sleep(1.0)
    assert len(await read_topic(bootstrap, original, until=1)) == 1, "the second replay published nothing"


async def test_a_missing_dead_letter_topic_is_a_clear_error(service_settings):
    settings = service_settings()
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        [
            "dlq",
            "list",
            "nope",
            "--bootstrap-servers",
            settings.kafka_bootstrap_servers,
            "--topic-prefix",
            settings.kafka_topic_prefix,
        ],
    )
    assert result.exit_code == 1
    assert "does not exist" in result.output
