"""Unit tests of the consumer's retry / dead-letter / redeliver decision: fakes, no broker."""

from typing import Any

import pytest
import structlog
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaConnectionError
from pydantic import BaseModel, ValidationError
from pymongo.errors import ServerSelectionTimeoutError
from tandem_chassis.consumer import Outcome, PermanentError, _Consumer, is_retryable, settle
from tandem_chassis.settings import ServiceSettings
from tandem_chassis.testing import as_record
from tandem_contracts import EmployeeJoined, MalformedEventError, UnknownEventTypeError, new_event, topics

pytestmark = pytest.mark.unit


def validation_error() -> ValidationError:
    class Strict(BaseModel):
        level: int

    try:
        Strict.model_validate({"level": "high"})
    except ValidationError as error:
        return error
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    "error",
    [
        MalformedEventError("not JSON"),
        UnknownEventTypeError("hr.employee.promoted"),
        validation_error(),
        PermanentError("refused by the domain"),
    ],
    ids=type,
)
def test_permanent_errors_are_dead_lettered_at_once(error: Exception) -> None:
    assert not is_retryable(error)
    assert settle(error) is Outcome.DEAD_LETTER


@pytest.mark.parametrize(
    "error",
    [
        ServerSelectionTimeoutError("store down"),
        KafkaConnectionError("broker down"),
        ConnectionResetError("reset"),
        TimeoutError("slow"),
    ],
    ids=type,
)
def test_outages_are_retried_then_redelivered_never_dead_lettered(error: Exception) -> None:
    assert is_retryable(error)
    assert settle(error) is Outcome.REDELIVER


def test_a_bug_is_retried_then_dead_lettered() -> None:
    error = KeyError("missing")

    assert is_retryable(error)
    assert settle(error) is Outcome.DEAD_LETTER


class FakeBroker:
    """Records what the consumer publishes (its dead letters)."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    async def publish(self, value: bytes, **options: Any) -> None:
        self.published.append({"value": value, **options})


def consumer_with(handler, broker: FakeBroker) -> _Consumer:
    settings = ServiceSettings(
        consumer_max_attempts=3, consumer_backoff_initial_s=0.001, consumer_backoff_max_s=0.001
    )
    return _Consumer(broker, group_id="g", handler=handler, settings=settings)


def joined_record() -> ConsumerRecord:
    joined = EmployeeJoined(employee_id="e-1", display_name="E", email="e-1@example.com")
    event = new_event(joined, source="/t")
    key, value, headers = as_record(event)
    return ConsumerRecord(topics.HR_EMPLOYEES, 0, 42, 0, 0, key, value, None, 0, len(value), headers)


async def handle(consumer: _Consumer, record: ConsumerRecord) -> None:
    item = await consumer.decode(record)
    assert item is not None
    await consumer.handle(record, item)


async def test_a_handler_that_keeps_failing_is_run_max_attempts_times_then_dead_lettered() -> None:
    broker, calls = FakeBroker(), []

    async def handler(event, data, delivery) -> None:
        calls.append(delivery.offset)
        raise RuntimeError("always fails")

    await handle(consumer_with(handler, broker), joined_record())

    assert calls == [42, 42, 42]
    (letter,) = broker.published
    assert letter["topic"] == topics.dlq(topics.HR_EMPLOYEES)
    assert letter["headers"]["dlq-error-type"] == "RuntimeError"
    assert letter["headers"]["dlq-error-message"] == "always fails"
    assert letter["headers"]["dlq-original-offset"] == "42"


async def test_a_transient_failure_is_retried_and_nothing_is_dead_lettered() -> None:
    broker, calls = FakeBroker(), []

    async def handler(event, data, delivery) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("hiccup")

    await handle(consumer_with(handler, broker), joined_record())

    assert len(calls) == 2
    assert broker.published == []


async def test_a_permanent_error_is_dead_lettered_without_a_retry() -> None:
    broker, calls = FakeBroker(), []

    async def handler(event, data, delivery) -> None:
        calls.append(1)
        raise PermanentError("refused")

    await handle(consumer_with(handler, broker), joined_record())

    assert len(calls) == 1
    assert broker.published[0]["headers"]["dlq-error-type"] == "PermanentError"


async def test_a_store_outage_outliving_the_retries_is_raised_so_kafka_redelivers() -> None:
    broker, calls = FakeBroker(), []

    async def handler(event, data, delivery) -> None:
        calls.append(1)
        raise ServerSelectionTimeoutError("store down")

    with pytest.raises(ServerSelectionTimeoutError):
        await handle(consumer_with(handler, broker), joined_record())

    assert len(calls) == 3
    assert broker.published == [], "an outage is not the event's fault"


async def test_an_undecodable_record_is_dead_lettered_and_never_handed_over() -> None:
    broker = FakeBroker()

    async def handler(event, data, delivery) -> None:
        raise AssertionError("must not be called")

    record = joined_record()
    broken = ConsumerRecord(record.topic, 0, 7, 0, 0, b"e-x", b"{nope", None, 0, 5, record.headers)

    assert await consumer_with(handler, broker).decode(broken) is None
    assert broker.published[0]["headers"]["dlq-error-type"] == "MalformedEventError"
    assert broker.published[0]["value"] == b"{nope"


async def test_a_failed_batch_is_logged_with_its_traceback_and_handled_event_by_event() -> None:
    broker, one_by_one = FakeBroker(), []

    async def handler(event, data, delivery) -> None:
        one_by_one.append(delivery.offset)

    async def batch(items) -> None:
        raise RuntimeError("the batch path has a bug")

    class Message:
        raw_message = (joined_record(),)

    with structlog.testing.capture_logs() as logs:
        await consumer_with(handler, broker).on_batch([], Message(), batch)

    assert one_by_one == [42]
    (failure,) = [entry for entry in logs if entry["event"].startswith("batch failed")]
    assert isinstance(failure["exc_info"], RuntimeError)
