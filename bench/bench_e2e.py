"""End-to-end latency: ``hr.employee.joined`` published → its welcome email at an SMTP server.

    uv run --frozen python bench/bench_e2e.py [--rates 50 200] [--seconds 60] [--wait 120] [--out bench/results]

For each rate, on its own topics and databases (isolated as the root conftest's
``isolated_settings`` does):

1. baseline: the same joined records published at the same rate to a fresh topic and read by a
   bare aiokafka consumer — the raw Kafka round trip on this machine at this moment;
2. the four services as separate processes (``tandem_chassis.testing.Platform``), notifications
   pointed at a real SMTP sink (aiosmtpd, in this process) via ``TANDEM_SMTP_HOST``/``_PORT``;
   joined events, each with a unique email, published at the rate for ``--seconds``; each one's
   latency runs from its publish to the SMTP receipt of the welcome email to its address. A
   joined employee also gets a "complete your profile" email, so the sink receives two emails per
   event. Emails not received within ``--wait`` seconds after the last publish count as later
   than the wait (they are in the percentiles as such, not dropped).

The services run with their production defaults apart from isolation (topic/group prefix,
databases, 3 partitions, dev JWT secret, log level WARNING). The resident memory of each
service process is sampled (psutil) after start-up, idle, and during the load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import sys
import tempfile
import time
import uuid
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the SMTP sink lives in the tests
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from benchlib import (
    CostMeter,
    RssSampler,
    add_out_argument,
    command_breakdown_table,
    cost_table,
    delete_topics,
    finite_or_none,
    infrastructure_processes,
    nearest_rank,
    stamp,
    store_commands_of,
    write_results,
)
from pymongo import AsyncMongoClient
from tandem_chassis.kafka import ensure_topics
from tandem_chassis.settings import ServiceSettings
from tandem_chassis.testing import Platform, as_record, free_port
from tandem_contracts import EmployeeJoined, new_event, topics

from services.notifications.tests.support import SmtpSink

KAFKA = os.environ.get("TANDEM_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
MONGO = os.environ.get("TANDEM_MONGODB_URI", "mongodb://127.0.0.1:27017")
SECRET = "bench-secret-for-dev-mode-only-0123456789"
SERVICES = ("profiles", "matching", "notifications", "relationships")
SETTLE_S = 3.0  # after every service is ready, before the idle memory sample
# compat32: the two headers read as plain strings, a quarter of the default policy's CPU (which
# is counted with the bench's)
HEADERS = BytesHeaderParser(policy=compat32)

Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


def joined(tag: str, count: int) -> tuple[list[Record], dict[str, str]]:
    """``count`` joined events (each its own employee and email) and email → employee id."""
    departments = ["R&D", "Sales", "Ops", "Finance", "People", "Legal"]
    records, emails = [], {}
    for n in range(count):
        employee_id, email = f"{tag}-{n:06d}", f"{tag}-{n}@example.com"
        emails[email] = employee_id
        event = EmployeeJoined(
            employee_id=employee_id,
            email=email,
            display_name=f"Bench Joiner {n}",
            department=departments[n % len(departments)],
            level=1 + n % 8,
            timezone="Europe/Berlin",
            languages=["en"],
        )
        records.append(as_record(new_event(event, source="/bench")))
    return records, emails


async def publish_at_rate(topic: str, records: list[Record], rate: float) -> tuple[dict[str, float], float]:
    """Send record i at t0 + i/rate from one long-lived producer; wall-clock send time per key."""
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, acks="all", enable_idempotence=True)
    await producer.start()
    sent_at: dict[str, float] = {}
    try:
        t0 = time.monotonic()
        pending = []
        for i, (key, value, headers) in enumerate(records):
            await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
            assert key is not None
            sent_at[key.decode()] = time.time()
            pending.append(await producer.send(topic, value=value, key=key, headers=headers))
        await asyncio.gather(*pending)
        achieved = len(records) / (time.monotonic() - t0)
    finally:
        await producer.stop()
    return sent_at, achieved


def summarise(sent_at: dict[str, float], arrived: dict[str, float], achieved: float) -> dict[str, Any]:
    """Percentiles over every sent event (one not arrived counts as later than the wait)."""
    order = sorted(sent_at, key=sent_at.__getitem__)
    latencies = [(arrived[k] - sent_at[k]) * 1000 if k in arrived else math.inf for k in order]
    delivered = [ms for ms in latencies if math.isfinite(ms)]
    fifth = max(1, len(order) // 5)
    first, last = nearest_rank(latencies[:fifth], 50), nearest_rank(latencies[-fifth:], 50)
    span = (max(arrived.values()) - min(sent_at.values())) if arrived else math.inf
    # Behind: something did not arrive in time, or the latency grew during the run (a queue).
    behind = len(delivered) < len(order) or (last > 2 * first and last - first > 1000)
    return {
        "sent": len(order),
        "achieved_rate": achieved,
        "delivered": len(delivered),
        "p50_ms": finite_or_none(nearest_rank(latencies, 50)),
        "p99_ms": finite_or_none(nearest_rank(latencies, 99)),
        "max_ms": max(delivered) if delivered else None,
        "first_fifth_p50_ms": finite_or_none(first),
        "last_fifth_p50_ms": finite_or_none(last),
        "delivered_per_s": len(delivered) / span if arrived else 0.0,
        "behind": behind,
    }


async def kafka_round_trip(prefix: str, rate: float, seconds: float, wait: float) -> dict[str, Any]:
    """Baseline: publish → a bare aiokafka consumer receives, same rate, same records' shape."""
    settings = ServiceSettings(
        kafka_bootstrap_servers=KAFKA, kafka_topic_prefix=prefix, kafka_topic_partitions=3
    )
    await ensure_topics(settings=settings, names=("bench.roundtrip",), with_dlq=False)
    topic = settings.topic("bench.roundtrip")
    records, _ = joined(f"{prefix}k", int(rate * seconds))
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=KAFKA, group_id=None, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    arrived: dict[str, float] = {}
    done = asyncio.Event()

    async def consume() -> None:
        while not done.is_set() and len(arrived) < len(records):
            batch = await consumer.getmany(timeout_ms=100)
            now = time.time()
            for part in batch.values():
                for record in part:
                    arrived.setdefault(record.key.decode(), now)

    reader = asyncio.create_task(consume())
    processes = {"bench process": psutil.Process(), **infrastructure_processes(KAFKA, MONGO)}
    try:
        with CostMeter(processes) as meter:
            sent_at, achieved = await publish_at_rate(topic, records, rate)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(reader), wait)
    finally:
        done.set()
        await reader
        await consumer.stop()
    result = summarise(sent_at, arrived, achieved)
    result["cost"] = {"cpu": meter.cpu, "commands": {}}
    return result


async def store_commands(
    platform: Platform,
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Store commands each service has sent so far by "command collection", and the seconds the
    store took to answer them, from each service's ``/metrics``."""
    counts, seconds = {}, {}
    async with httpx.AsyncClient(timeout=10) as client:
        for name in SERVICES:
            text = (await client.get(f"{platform[name].url}/metrics")).text
            counts[name] = store_commands_of(text)
            seconds[name] = store_commands_of(text, "tandem_store_command_seconds_total")
    return counts, seconds


def difference(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {key: count - before.get(key, 0.0) for key, count in after.items() if count > before.get(key, 0.0)}


def collect_welcomes(sink: SmtpSink, seen: int, arrived: dict[str, float], emails: dict[str, str]) -> int:
    """Record the receipt time of each new welcome email, by employee; returns messages seen."""
    messages = sink.snapshot()
    for received in messages[seen:]:
        headers = HEADERS.parsebytes(received.raw)
        if str(headers["X-Tandem-Notification-Kind"]).strip() != "welcome":
            continue
        employee_id = emails.get(parseaddr(str(headers["To"]))[1].lower())
        if employee_id is not None:
            arrived.setdefault(employee_id, received.at)
    return len(messages)


async def warm_up(sink: SmtpSink, topic: str, tag: str, timeout_s: float = 180.0) -> float:
    """One joined event through the whole pipeline first: consumer groups settled, clients warm."""
    records, emails = joined(tag, 1)
    seen, arrived = len(sink.snapshot()), {}
    started = time.monotonic()
    await publish_at_rate(topic, records, 1.0)
    while not arrived:
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"the warm-up welcome email did not arrive in {timeout_s:g} s")
        await asyncio.sleep(0.1)
        seen = collect_welcomes(sink, seen, arrived, emails)
    return time.monotonic() - started


async def topic_size(topic: str) -> int:
    """Records ever written to ``topic`` (the sum of its partitions' end offsets)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA)
    await consumer.start()
    try:
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def stages(platform: Platform, id_prefix: str) -> dict[str, int]:
    """How far the timed events got when the wait ended: where a backlog sits."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(MONGO)
    ours = {"_id": {"$regex": f"^{id_prefix}"}}
    try:
        return {
            "profiles stored (profiles)": await client[platform.database("profiles")][
                "profiles"
            ].count_documents(ours),
            # minus the warm-up joiner's profile.registered
            "profile events on Kafka (profiles' outbox relay)": await topic_size(
                platform.topic(topics.PROFILES)
            )
            - 1,
            "profiles projected (matching)": await client[platform.database("matching")][
                "profiles"
            ].count_documents(ours),
            "recipients projected (notifications)": await client[platform.database("notifications")][
                "recipients"
            ].count_documents(ours),
            "deliveries still pending (notifications, all channels)": await client[
                platform.database("notifications")
            ]["deliveries"].count_documents({"status": "pending"}),
        }
    finally:
        await client.close()


async def pipeline(prefix: str, rate: float, seconds: float, wait: float, log_dir: Path) -> dict[str, Any]:
    run = prefix.rstrip(".")
    sink = SmtpSink(free_port())
    sink.start()
    env = {
        "TANDEM_KAFKA_BOOTSTRAP_SERVERS": KAFKA,
        "TANDEM_MONGODB_URI": MONGO,
        "TANDEM_KAFKA_TOPIC_PREFIX": prefix,
        "TANDEM_KAFKA_GROUP_PREFIX": prefix,
        "TANDEM_KAFKA_TOPIC_PARTITIONS": "3",
        "TANDEM_DB_SUFFIX": run,
        "TANDEM_ENV": "dev",
        "TANDEM_JWT_SECRET": SECRET,
        "TANDEM_LOG_LEVEL": os.environ.get("TANDEM_BENCH_LOG_LEVEL", "WARNING"),  # DEBUG: pass timings
        "TANDEM_SMTP_HOST": "127.0.0.1",
        "TANDEM_SMTP_PORT": str(sink.port),
    }
    platform = Platform(env, log_dir)
    try:
        started = time.monotonic()
        await platform.start()
        startup_s = time.monotonic() - started
        pids = {name: platform[name].process.pid for name in SERVICES}  # type: ignore[union-attr]
        topic = platform.topic(topics.HR_EMPLOYEES)
        processes = {
            **{name: psutil.Process(pid) for name, pid in pids.items()},
            "bench process": psutil.Process(),
            **infrastructure_processes(KAFKA, MONGO),
        }
        with RssSampler(pids) as sampler:
            warmup_s = await warm_up(sink, topic, f"{run}w")
            await asyncio.sleep(SETTLE_S)
            idle = sampler.now()
            sampler.reset()
            records, emails = joined(f"{run}p", int(rate * seconds))
            emails = {email.lower(): employee_id for email, employee_id in emails.items()}
            seen = len(sink.snapshot())
            commands_before, seconds_before = await store_commands(platform)
            with CostMeter(processes) as meter:
                sent_at, achieved = await publish_at_rate(topic, records, rate)
                arrived: dict[str, float] = {}
                deadline = time.monotonic() + wait
                while len(arrived) < len(records) and time.monotonic() < deadline:
                    await asyncio.sleep(0.25)
                    seen = collect_welcomes(sink, seen, arrived, emails)
            commands_after, seconds_after = await store_commands(platform)
            peaks = sampler.peaks()
        result = summarise(sent_at, arrived, achieved)
        result["startup_s"] = startup_s
        result["warmup_s"] = warmup_s
        result["emails_received"] = len(sink.snapshot())
        result["stages"] = await stages(platform, f"{run}p-")
        result["memory_mib"] = {name: {"idle": idle[name], "peak": peaks[name]} for name in SERVICES}
        result["cost"] = {
            "cpu": meter.cpu,
            "commands": {
                name: sum(difference(commands_after[name], commands_before[name]).values())
                for name in SERVICES
            },
        }
        result["commands_by_collection"] = {
            name: difference(commands_after[name], commands_before[name]) for name in SERVICES
        }
        result["store_seconds_by_collection"] = {
            name: difference(seconds_after[name], seconds_before[name]) for name in SERVICES
        }
        return result
    except Exception:
        for name in SERVICES:
            log = platform[name].log_path
            if log.exists():
                print(f"--- {name} log tail\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
        raise
    finally:
        platform.stop()
        sink.stop()
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(MONGO)
        try:
            for name in SERVICES:
                await client.drop_database(platform.database(name))
        finally:
            await client.close()


async def one_rate(rate: float, seconds: float, wait: float, log_dir: Path) -> dict[str, Any]:
    prefix = f"e2e{uuid.uuid4().hex[:8]}."
    try:
        kafka = await kafka_round_trip(prefix, rate, seconds, wait)
        print(f"rate {rate:g}/s kafka baseline: {kafka}", flush=True)
        (log_dir / f"rate{rate:g}").mkdir(parents=True, exist_ok=True)
        ours = await pipeline(prefix, rate, seconds, wait, log_dir / f"rate{rate:g}")
        print(f"rate {rate:g}/s pipeline: {ours}", flush=True)
    finally:
        await delete_topics(KAFKA, prefix)
    return {"rate": rate, "kafka": kafka, "pipeline": ours}


def ms(value: float | None, wait: float) -> str:
    return f"> {wait:g} s" if value is None else f"{value:,.0f}"


def markdown(figures: dict[str, Any]) -> str:
    seconds, wait = figures["seconds"], figures["wait_s"]
    lines = [
        f"# End-to-end: `hr.employee.joined` → welcome email (`{figures['command']}`, {stamp()})",
        "",
        f"Each rate for {seconds:g} s; emails later than {wait:g} s after the last publish count as "
        "'> wait'. Baseline: the same records through a bare aiokafka producer → consumer.",
        "",
        "| rate/s | path | sent | achieved/s | arrived | p50 ms | p99 ms | max ms | first→last fifth p50 ms | sustained/s | behind |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for one in figures["rates"]:
        for name, r in (
            ("Kafka round trip (baseline)", one["kafka"]),
            ("services → welcome email", one["pipeline"]),
        ):
            lines.append(
                f"| {one['rate']:g} | {name} | {r['sent']:,} | {r['achieved_rate']:.1f} | {r['delivered']:,} "
                f"| {ms(r['p50_ms'], wait)} | {ms(r['p99_ms'], wait)} | {ms(r['max_ms'], wait)} "
                f"| {ms(r['first_fifth_p50_ms'], wait)} → {ms(r['last_fifth_p50_ms'], wait)} "
                f"| {r['delivered_per_s']:.1f} | {'yes' if r['behind'] else 'no'} |"
            )
    for one in figures["rates"]:
        p = one["pipeline"]
        lines.append(
            f"\n{one['rate']:g}/s: service start-up {p['startup_s']:.1f} s, warm-up email {p['warmup_s']:.1f} s; "
            f"when the wait ended: "
            + ", ".join(f"{k} {v:,}" for k, v in p["stages"].items())
            + f", welcome emails {p['delivered']:,} of {p['sent']:,}"
        )
    lines += [
        "",
        "Resident memory of each service process, MiB (idle after start-up → peak during the load):",
        "",
    ]
    lines += ["| rate/s | " + " | ".join(SERVICES) + " |", "|---:|" + "---:|" * len(SERVICES)]
    for one in figures["rates"]:
        memory = one["pipeline"]["memory_mib"]
        cells = [f"{memory[s]['idle']:.0f} → {memory[s]['peak']:.0f}" for s in SERVICES]
        lines.append(f"| {one['rate']:g} | " + " | ".join(cells) + " |")
    for one in figures["rates"]:
        lines += [
            "",
            *cost_table(
                f"{one['rate']:g} joined/s for {seconds:g} s (publish until the wait ended)",
                one["pipeline"]["sent"],
                {
                    "Kafka round trip (baseline)": one["kafka"]["cost"],
                    "services → welcome email": one["pipeline"]["cost"],
                },
                harness="bench process",  # the publisher (HR) and the SMTP sink (the mail server)
            ),
            "",
            *command_breakdown_table(
                f"{one['rate']:g} joined/s",
                one["pipeline"]["sent"],
                one["pipeline"]["commands_by_collection"],
                one["pipeline"].get("store_seconds_by_collection"),
            ),
        ]
    lines += [
        "",
        "CPU seconds come from each process's own counters (user + system, children included "
        "unless measured under their own name, as the services the bench starts); "
        "store commands from each service's `tandem_store_commands_total`. The measured stretch "
        "includes the wait for late emails, so a pipeline that falls behind is charged its backlog. "
        f"Load average at the end: {' '.join(f'{x:.2f}' for x in figures['load_average'])}.",
    ]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[50.0, 200.0])
    parser.add_argument("--seconds", type=float, default=60.0, help="publishing time per rate")
    parser.add_argument("--wait", type=float, default=120.0, help="seconds after the last publish")
    add_out_argument(parser)
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    rates = [await one_rate(rate, args.seconds, args.wait, log_dir) for rate in args.rates]
    command = (
        "uv run --frozen python bench/bench_e2e.py --rates "
        + " ".join(f"{r:g}" for r in args.rates)
        + f" --seconds {args.seconds:g} --wait {args.wait:g}"
    )
    figures = {
        "command": command,
        "seconds": args.seconds,
        "wait_s": args.wait,
        "emails_per_event": 2,
        "service_logs": str(log_dir),
        "rates": rates,
        "load_average": os.getloadavg(),
    }
    text = markdown(figures)
    print(text)
    write_results(args.out, "e2e", text, figures)


if __name__ == "__main__":
    asyncio.run(main())
