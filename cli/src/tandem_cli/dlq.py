"""Dead letters: list them, and replay them to their original topic once the bug is fixed.

A replay re-publishes each dead letter's key, value and original headers (the ``dlq-*`` ones
are dropped) to the topic it came from, then commits its progress in the consumer group
``tandem-dlq-replay.<topic>``: the next replay starts after the last replayed record.
"""

from collections import Counter
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from tandem_contracts import topics

from tandem_cli import kafka_io
from tandem_cli.errors import CliError

__all__ = [
    "DeadLetter",
    "ReplaySummary",
    "dlq_topics",
    "list_dead_letters",
    "replay",
    "replay_group",
]

DLQ_PREFIX = "dlq-"
SUFFIX = topics.dlq("")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]

    def header(self, name: str, default: str = "") -> str:
        raw = self.headers.get(name)
        return raw.decode("utf-8", "replace") if raw is not None else default

    @property
    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(name, raw) for name, raw in self.headers.items() if not name.startswith(DLQ_PREFIX)]


@dataclass(frozen=True, slots=True)
class ReplaySummary:
    dlq_topic: str
    group: str
    start: dict[int, int]
    replayed: Counter[str]
    dry_run: bool
    letters: list[DeadLetter]


def dlq_topics(topic: str, prefix: str = "") -> tuple[str, str]:
    """(original, dead-letter) physical topic names for ``hr.employees`` or ``hr.employees.dlq``."""
    base = topic.removesuffix(SUFFIX)
    if not base:
        raise CliError("name a topic, e.g. hr.employees")
    original = base if prefix and base.startswith(prefix) else f"{prefix}{base}"
    return original, topics.dlq(original)


def replay_group(original: str) -> str:
    return f"tandem-dlq-replay.{original}"


def _letter(record: ConsumerRecord) -> DeadLetter:
    headers = {name: raw or b"" for name, raw in record.headers}
    return DeadLetter(record.partition, record.offset, record.key, record.value, headers)


async def _read(
    client: AIOKafkaConsumer, start: dict[TopicPartition, int], end: dict[TopicPartition, int]
) -> list[DeadLetter]:
    """Every record from ``start`` up to (not including) ``end``, per partition."""
    pending = {tp for tp in start if start[tp] < end[tp]}
    client.assign(list(start))
    for tp, offset in start.items():
        client.seek(tp, offset)
    letters: list[DeadLetter] = []
    while pending:
        batch = await client.getmany(*pending, timeout_ms=1000)
        for tp, records in batch.items():
            letters.extend(_letter(r) for r in records if r.offset < end[tp])
            if records and records[-1].offset >= end[tp] - 1:
                pending.discard(tp)
        for tp in list(pending):  # compacted or transactional gaps: the position says we're done
            if await client.position(tp) >= end[tp]:
                pending.discard(tp)
    return sorted(letters, key=lambda letter: (letter.partition, letter.offset))


async def list_dead_letters(
    bootstrap_servers: str, topic: str, *, prefix: str = "", limit: int = 20
) -> tuple[str, int, list[DeadLetter]]:
    """(dead-letter topic, how many it holds, the latest ``limit`` of them by failure time)."""
    _, dlq_topic = dlq_topics(topic, prefix)
    async with kafka_io.consumer(bootstrap_servers) as client:
        partitions = await kafka_io.partitions_of(client, dlq_topic)
        if not partitions:
            raise CliError(f"topic {dlq_topic} does not exist")
        begin, end = await kafka_io.offset_range(client, partitions)
        total = sum(end[tp] - begin[tp] for tp in partitions)
        start = {tp: max(begin[tp], end[tp] - limit) for tp in partitions}
        letters = await _read(client, start, end)
    letters.sort(key=lambda letter: (letter.header("dlq-failed-at"), letter.partition, letter.offset))
    return dlq_topic, total, letters[-limit:] if limit > 0 else []


async def replay(
    bootstrap_servers: str,
    topic: str,
    *,
    prefix: str = "",
    dry_run: bool = False,
    since_offset: int | None = None,
) -> ReplaySummary:
    """Re-publish the dead letters not replayed yet; commit how far it got (not on a dry run)."""
    original, dlq_topic = dlq_topics(topic, prefix)
    group = replay_group(original)
    async with kafka_io.consumer(bootstrap_servers, group_id=group) as client:
        partitions = await kafka_io.partitions_of(client, dlq_topic)
        if not partitions:
            raise CliError(f"topic {dlq_topic} does not exist")
        begin, end = await kafka_io.offset_range(client, partitions)
        start = {}
        for tp in partitions:
            committed = await client.committed(tp)
            start[tp] = max(begin[tp], committed or 0, since_offset or 0)
        letters = await _read(client, start, end)
        replayed: Counter[str] = Counter()
        if not dry_run and letters:
            async with kafka_io.producer(bootstrap_servers) as out:
                sent = []
                for letter in letters:
                    target = letter.header("dlq-original-topic", original)
                    sent.append(
                        await out.send(
                            target,
                            value=letter.value,
                            key=letter.key,
                            headers=letter.original_headers,
                        )
                    )
                    replayed[target] += 1
                for future in sent:
                    await future  # every acknowledgement before the progress is committed
        if not dry_run:
            done = {tp: end[tp] for tp in partitions if end[tp] > start[tp]}
            if done:
                await client.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in done.items()})
    return ReplaySummary(
        dlq_topic=dlq_topic,
        group=group,
        start={tp.partition: offset for tp, offset in start.items()},
        replayed=replayed,
        dry_run=dry_run,
        letters=letters,
    )
