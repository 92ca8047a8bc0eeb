"""Bench the notifications service end to end: Kafka in, SMTP out (a real aiosmtpd sink).

    uv run --frozen python bench/bench_notifications.py [--burst 5000] [--rate 100] [--seconds 20] [--out bench/results]

Needs the local stack (Kafka 127.0.0.1:9092, FerretDB/MongoDB 127.0.0.1:27017) or
TANDEM_KAFKA_BOOTSTRAP_SERVERS / TANDEM_MONGODB_URI. Each event is a ``mentorship.proposed``
(origin ``request``): one email to the mentor. Reports, as a markdown table, delivered emails
per second for a burst, and p50/p99 latency from publish to SMTP receipt at a steady rate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the SMTP sink lives in the tests
from aiokafka import AIOKafkaProducer
from benchlib import add_out_argument, delete_topics, stamp, write_results
from tandem_chassis.testing import as_record, free_port, publish_raw
from tandem_contracts import MentorshipProposed, ProfileRegistered, new_event, topics
from tandem_contracts.profiles import NotificationPreferences
from tandem_notifications.bootstrap import build_app
from tandem_notifications.config import Settings

from services.notifications.tests.support import SmtpSink

MENTORS = 200


def settings_for(run: str, smtp_port: int) -> Settings:
    return Settings(
        kafka_bootstrap_servers=os.environ.get("TANDEM_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        mongodb_uri=os.environ.get("TANDEM_MONGODB_URI", "mongodb://127.0.0.1:27017"),  # type: ignore[arg-type]
        kafka_topic_prefix=f"{run}.",
        kafka_group_prefix=f"{run}.",
        kafka_topic_partitions=3,
        mongodb_database=f"tandem_notifications_{run}",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        outbox_poll_interval_s=0.2,
        dispatcher_poll_interval_s=0.05,
        delivery_backoff_initial_s=0.2,
        delivery_backoff_max_s=2.0,
        log_level="WARNING",
    )


def proposals(count: int, tag: str) -> list:  # type: ignore[type-arg]
    return [
        new_event(
            MentorshipProposed(
                mentorship_id=f"{tag}-{i}",
                mentor_id=f"b-{i % MENTORS}",
                mentee_id=f"b-{MENTORS}",
                status="proposed",
                origin="request",
            ),
            source="/bench",
        )
        for i in range(count)
    ]


async def wait_for(sink: SmtpSink, count: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while len(sink.snapshot()) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(sink.snapshot())}/{count} emails after {timeout_s}s")
        await asyncio.sleep(0.1)


async def main(burst: int, rate: float, seconds: float, out: Path) -> None:
    run = f"bench{uuid.uuid4().hex[:8]}"
    sink = SmtpSink(free_port())
    sink.start()
    settings = settings_for(run, sink.port)
    app = build_app(settings)
    topic = settings.topic(topics.MENTORSHIPS)
    async with app.router.lifespan_context(app):
        quiet = NotificationPreferences(
            channels={"inapp": False}, muted_types=["welcome", "complete_profile"]
        )
        people = [
            ProfileRegistered(
                employee_id=f"b-{i}",
                version=1,
                status="active",
                email=f"b-{i}@example.com",
                display_name=f"Bench {i}",
                notification_preferences=quiet,
            )
            for i in range(MENTORS + 1)
        ]
        await publish_raw(
            settings.kafka_bootstrap_servers,
            settings.topic(topics.PROFILES),
            [as_record(new_event(p, source="/bench")) for p in people],
        )
        recipients = app.state.runtime.db["recipients"]
        while await recipients.count_documents({}) < MENTORS + 1:
            await asyncio.sleep(0.2)

        events = proposals(burst, "burst")
        started = time.monotonic()
        for start in range(0, burst, 500):
            await publish_raw(
                settings.kafka_bootstrap_servers, topic, [as_record(e) for e in events[start : start + 500]]
            )
        await wait_for(sink, burst, timeout_s=3600)
        throughput = burst / (time.monotonic() - started)

        steady = proposals(int(rate * seconds), "steady")
        sent_at: dict[str, float] = {}
        baseline = len(sink.snapshot())
        # One long-lived producer: a producer per event (publish_raw) cannot keep up 100/s.
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", enable_idempotence=True
        )
        await producer.start()
        try:
            t0 = time.monotonic()
            pending = []
            for i, event in enumerate(steady):
                await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
                key, value, headers = as_record(event)
                sent_at[event.id] = time.time()
                pending.append(await producer.send(topic, value=value, key=key, headers=headers))
            await asyncio.gather(*pending)
            achieved = len(steady) / (time.monotonic() - t0)
        finally:
            await producer.stop()
        await wait_for(sink, baseline + len(steady), timeout_s=3600)
        latencies = sorted(
            (r.at - sent_at[str(r.message["X-Tandem-Delivery-Id"]).split(":")[0]]) * 1000
            for r in sink.snapshot()[baseline:]
        )
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        with contextlib.suppress(Exception):
            await recipients.database.client.drop_database(settings.database_name)
    sink.stop()
    await delete_topics(settings.kafka_bootstrap_servers, f"{run}.")
    table = (
        f"| metric | value |\n|---|---|\n"
        f"| burst of {burst} events: delivered emails/s | {throughput:.1f} |\n"
        f"| steady {rate:g} events/s for {seconds:g}s (achieved {achieved:.1f}/s): p50 publish→SMTP receipt | {p50:.0f} ms |\n"
        f"| steady {rate:g} events/s for {seconds:g}s (achieved {achieved:.1f}/s): p99 publish→SMTP receipt | {p99:.0f} ms |\n"
        f"| store | {settings.mongodb_uri.get_secret_value()} |\n"
    )
    print(table, end="")
    header = (
        "# Notifications bench\n\n"
        f"`uv run --frozen python bench/bench_notifications.py --burst {burst} --rate {rate:g} --seconds {seconds:g}` "
        f"({stamp()}; one in-process service, aiosmtpd sink in the bench process)\n\n"
    )
    figures = {
        "burst": burst,
        "burst_emails_per_s": throughput,
        "rate": rate,
        "seconds": seconds,
        "achieved_rate": achieved,
        "p50_ms": p50,
        "p99_ms": p99,
    }
    write_results(out, "notifications", header + table, figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    add_out_argument(parser)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.burst, arguments.rate, arguments.seconds, arguments.out))
