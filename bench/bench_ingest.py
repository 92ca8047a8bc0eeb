"""HR-event ingest: the profiles service vs a bare aiokafka + bulk_write consumer, same run.

Both read the same pre-loaded topic of N ``hr.employee.joined`` events (binary CloudEvents)
from the beginning and store one document per employee in the same store; the figure is
events per second until every profile is stored. The profiles service also validates the
contract, applies the HR merge rules, writes its outbox and publishes ``profile.registered``.

With ``--stored S`` (the growth check) S other employees' events come first: each consumer
stores them unmeasured, and the figures are those of the N after them, over a store that
already holds S profiles. The end of each part is the consumer's own count (events handled,
the baseline's acknowledged upserts), not a count of the store, which would scan it.

    uv run --frozen python bench/bench_ingest.py [--events 20000] [--stored 0] [--out bench/results]
"""

import argparse
import asyncio
import json
import os
import time
import uuid

import psutil
from aiokafka import AIOKafkaConsumer
from benchlib import (
    CostMeter,
    add_out_argument,
    cost_table,
    delete_topics,
    infrastructure_processes,
    stamp,
    write_results,
)
from pymongo import AsyncMongoClient, UpdateOne, monitoring
from tandem_chassis.kafka import ensure_topics
from tandem_chassis.metrics import EVENTS_CONSUMED, STORE_COMMANDS
from tandem_chassis.testing import as_record, publish_raw
from tandem_contracts import EmployeeJoined, new_event, topics
from tandem_profiles.bootstrap import build_app
from tandem_profiles.config import Settings

KAFKA = os.environ.get("TANDEM_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
MONGO = os.environ.get("TANDEM_MONGODB_URI", "mongodb://127.0.0.1:27017")


class Commands(monitoring.CommandListener):
    """Counts the baseline client's store commands, as the chassis counts a service's."""

    def __init__(self) -> None:
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.count += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def service_commands() -> float:
    """Store commands the in-process profiles service has sent so far (the chassis' counter)."""
    return sum(
        sample.value for sample in STORE_COMMANDS.collect()[0].samples if sample.name.endswith("_total")
    )


def service_consumed(topic: str) -> float:
    """Events the in-process service has handled from ``topic`` so far (the chassis' counter)."""
    return sum(
        sample.value
        for sample in EVENTS_CONSUMED.collect()[0].samples
        if sample.name.endswith("_total") and sample.labels["topic"] == topic
    )


def joined_events(count: int, *, prefix: str = "emp") -> list:
    departments = ["R&D", "Sales", "Ops", "Finance", "People", "Legal"]
    return [
        as_record(
            new_event(
                EmployeeJoined(
                    employee_id=f"{prefix}-{n:06d}",
                    email=f"{prefix}{n}@example.com",
                    display_name=f"Employee {n}",
                    department=departments[n % len(departments)],
                    level=1 + n % 8,
                    manager_id=f"{prefix}-{n // 8:06d}",
                    timezone="Europe/Berlin",
                    languages=["en"],
                ),
                source="/bench",
            )
        )
        for n in range(count)
    ]


class Baseline:
    """A plain consumer: JSON-decode each value, upsert a batch with one bulk_write, commit."""

    def __init__(self, topic: str, database) -> None:
        self.consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=KAFKA,
            group_id=f"bench-baseline-{uuid.uuid4().hex[:6]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            max_poll_records=500,
        )
        self.collection = database["profiles"]
        self.stored = 0

    async def until(self, count: int, timeout_s: float = 900) -> None:
        """Consume until ``count`` events in all are stored."""
        started = time.perf_counter()
        while self.stored < count:
            if time.perf_counter() - started > timeout_s:
                raise TimeoutError(f"the baseline stored {self.stored} of {count} in {timeout_s}s")
            batches = await self.consumer.getmany(timeout_ms=500, max_records=500)
            operations = []
            for records in batches.values():
                for record in records:
                    data = json.loads(record.value)
                    operations.append(UpdateOne({"_id": data["employee_id"]}, {"$set": data}, upsert=True))
            if operations:
                await self.collection.bulk_write(operations, ordered=False)
                await self.consumer.commit()
                self.stored += len(operations)


async def service_until(topic: str, count: int, timeout_s: float = 1800) -> None:
    """Wait until the in-process service has handled ``count`` events in all (polled gently)."""
    started = time.perf_counter()
    while service_consumed(topic) < count:
        if time.perf_counter() - started > timeout_s:
            raise TimeoutError(
                f"the service handled {service_consumed(topic):.0f} of {count} in {timeout_s}s"
            )
        await asyncio.sleep(0.2)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--stored", type=int, default=0, help="employees stored before the measured events")
    add_out_argument(parser)
    args = parser.parse_args()
    run = f"bench{uuid.uuid4().hex[:6]}"
    settings = Settings(
        kafka_bootstrap_servers=KAFKA,
        mongodb_uri=MONGO,
        kafka_topic_prefix=f"{run}.",
        kafka_group_prefix=f"{run}.",
        mongodb_database=f"{run}_profiles",
        log_level="WARNING",
    )
    await ensure_topics(settings=settings)
    topic = settings.topic(topics.HR_EMPLOYEES)
    records = joined_events(args.stored, prefix="old") + joined_events(args.events)
    for start in range(0, len(records), 5000):
        await publish_raw(KAFKA, topic, records[start : start + 5000])
    client = AsyncMongoClient(MONGO)
    listener = Commands()
    baseline_client = AsyncMongoClient(MONGO, event_listeners=[listener])
    processes = {"bench process": psutil.Process(), **infrastructure_processes(KAFKA, MONGO)}
    costs = {}
    total = args.stored + args.events
    try:
        base = Baseline(topic, baseline_client[f"{run}_baseline"])
        await base.consumer.start()
        try:
            await base.until(args.stored)
            before = listener.count
            with CostMeter(processes) as meter:
                started = time.perf_counter()
                await base.until(total)
                base_s = time.perf_counter() - started
        finally:
            await base.consumer.stop()
        costs["baseline: aiokafka + bulk_write"] = {
            "cpu": meter.cpu,
            "commands": {"bench process": listener.count - before},
        }
        app = build_app(settings)
        if args.stored:
            async with app.router.lifespan_context(app):
                await service_until(topic, args.stored)
                before = service_commands()
                with CostMeter(processes) as meter:
                    started = time.perf_counter()
                    await service_until(topic, total)
                    ours_s = time.perf_counter() - started
        else:  # from the service's start, as before the growth check existed
            before = service_commands()
            with CostMeter(processes) as meter:
                started = time.perf_counter()
                async with app.router.lifespan_context(app):
                    await service_until(topic, total)
                    ours_s = time.perf_counter() - started
        costs["Tandem profiles service (in the bench process)"] = {
            "cpu": meter.cpu,
            "commands": {"bench process": service_commands() - before},
        }
    finally:
        await baseline_client.close()
        for name in (f"{run}_baseline", f"{run}_profiles"):
            await client.drop_database(name)
        await client.close()
        await delete_topics(KAFKA, f"{run}.")
    base_rate, ours_rate = args.events / base_s, args.events / ours_s
    table = "\n".join(
        [
            f"### HR-event ingest ({args.events:,} `hr.employee.joined`"
            + (f" after {args.stored:,} others already stored" if args.stored else "")
            + ", one run)",
            "",
            "| consumer | seconds | events/s | ratio to baseline |",
            "|---|---:|---:|---:|",
            f"| baseline: aiokafka + bulk_write upserts | {base_s:.1f} | {base_rate:,.0f} | 1.00 |",
            f"| Tandem profiles service | {ours_s:.1f} | {ours_rate:,.0f} | {ours_rate / base_rate:.2f} |",
            "",
            *cost_table("HR-event ingest", args.events, costs),
            "",
            f"Load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}. The bench "
            "process runs both consumers in turn (the profiles service in-process); store commands "
            "are those of the consumer's own client, not of the bench polling for completion.",
        ]
    )
    print(table)
    command = f"uv run --frozen python bench/bench_ingest.py --events {args.events}" + (
        f" --stored {args.stored}" if args.stored else ""
    )
    header = f"# HR-event ingest (`{command}`, {stamp()})"
    figures = {
        "events": args.events,
        "stored": args.stored,
        "baseline": {"seconds": base_s, "events_per_s": base_rate},
        "service": {"seconds": ours_s, "events_per_s": ours_rate},
        "ratio": ours_rate / base_rate,
        "costs": costs,
        "load_average": os.getloadavg(),
    }
    write_results(args.out, "ingest_stored" if args.stored else "ingest", f"{header}\n\n{table}", figures)


if __name__ == "__main__":
    asyncio.run(main())
