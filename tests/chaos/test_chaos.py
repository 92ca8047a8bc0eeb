"""Chaos: 5,000 HR events, mentorships over HTTP, SIGKILLed services and a Kafka restart.

The three services run as processes on a private Kafka broker (its own port and data dir, so
restarting it disturbs no other test) and the shared store, with emails going to a real SMTP
sink. While a seeded HR feed streams in and mentorships are requested and answered over HTTP,
every service is SIGKILLed twice and the broker is stopped and started once. Afterwards every
service must converge to what a fault-free run gives, computed independently: profiles from the
pure domain fold, projections from profiles, mentorships from what the test drove, emails from
the events that cause them. Nothing may be lost, nothing duplicated (emails excepted, within the
documented window), nothing dead-lettered.
"""

import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from pymongo import AsyncMongoClient
from tandem_chassis.testing import Platform, as_record, free_port
from tandem_cli.demo_org import generate_organisation
from tandem_contracts import parse_data, topics
from tandem_notifications.domain.delivery import message_id

from services.notifications.tests.support import SmtpSink, token

from .hr_feed import Feed, Pairing, build_feed, fold, mentee_patch, mentor_patch, pairings

pytestmark = pytest.mark.chaos

ROOT = Path(__file__).resolve().parents[2]
SEED = 20260611
EMPLOYEES = 800  # ~1,900 emails: welcome + complete-profile per registration, plus mentorships
EVENTS = 5_000
MENTORS, MENTEES = 36, 60
BATCH = 25  # HR events per publish
PACE_S = 0.4  # between two batches: the stream lasts a couple of minutes
SMTP_CONNECTIONS = 20
DISPATCH_BATCH = 40  # deliveries per dispatcher pass; its outcome is stored once per pass
LEASE_S = 20.0
CONVERGE_S = 360.0
SERVICES = ("profiles", "matching", "notifications")
SENDER = "Tandem <no-reply@tandem.local>"


# --- infrastructure ------------------------------------------------------------------------


def _port_pair() -> int:
    import socket

    while True:
        port = free_port()
        if port < 65000:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port + 1)) != 0:
                    return port


def _stack(command: str, env: dict[str, str], which: str = "kafka") -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "local" / "stack.py"), command, which],
        env=os.environ | env,
        check=True,
        capture_output=True,
        timeout=180,
    )


class Publisher:
    """An HR system that keeps trying: every batch is re-sent until the broker acknowledges it.

    A re-sent batch may land twice; that is a duplicate with the same event id, which the feed
    has plenty of anyway. Order per key holds: the next batch goes only after this one landed.
    """

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.producer: AIOKafkaProducer | None = None
        self.retries = 0

    async def send(self, records: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]) -> None:
        deadline = time.monotonic() + 240
        while True:
            try:
                await asyncio.wait_for(self._send(records), 45)
                return
            except (KafkaError, TimeoutError, OSError) as error:
                failure = repr(error)
            self.retries += 1
            await self.close()
            assert time.monotonic() < deadline, f"the broker took no HR events for 240 s: {failure}"
            await asyncio.sleep(1.0)

    async def _send(self, records: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]) -> None:
        if self.producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap,
                acks="all",
                enable_idempotence=True,
                request_timeout_ms=15000,
            )
            try:
                await producer.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await producer.stop()
                raise
            self.producer = producer
        futures = [
            await self.producer.send(self.topic, value=value, key=key, headers=headers)
            for key, value, headers in records
        ]
        await asyncio.gather(*futures)

    async def close(self) -> None:
        producer, self.producer = self.producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 10)


async def read_all(bootstrap: str, topic: str) -> list[Any]:
    """Every record of ``topic`` from the beginning to its current end (none if it does not exist)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        partitions = await consumer._client.fetch_all_metadata()  # fresh metadata, no auto-create
        numbers = partitions.partitions_for_topic(topic) or set()
        if not numbers:
            return []
        assigned = [TopicPartition(topic, p) for p in numbers]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        records: list[Any] = []
        deadline = time.monotonic() + 120
        while [tp for tp in assigned if await consumer.position(tp) < ends[tp]]:
            assert time.monotonic() < deadline, f"{topic}: could not read to its end"
            for batch in (await consumer.getmany(*assigned, timeout_ms=1000)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


# --- the SMTP side ---------------------------------------------------------------------------


class Mailbox:
    """Indexes what the SMTP sink accepted: raw count per delivery id, Message-IDs, recipients."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink
        self.seen = 0
        self.raw: Counter[str] = Counter()
        self.message_ids: dict[str, set[str]] = {}
        self.by_recipient: dict[str, set[str]] = {}
        self._parser = BytesHeaderParser()

    def refresh(self) -> None:
        fresh = self.sink.snapshot()[self.seen :]
        self.seen += len(fresh)
        for received in fresh:
            headers = self._parser.parsebytes(received.raw)
            delivery = str(headers["X-Tandem-Delivery-Id"])
            self.raw[delivery] += 1
            self.message_ids.setdefault(delivery, set()).add(str(headers["Message-ID"]))
            recipient = delivery.rsplit(":", 2)[1]
            self.by_recipient.setdefault(recipient, set()).add(delivery)

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.raw.values())


# --- chaos -----------------------------------------------------------------------------------


@dataclass
class Chaos:
    platform: Platform
    kafka_env: dict[str, str]
    rng: random.Random
    log: list[str] = field(default_factory=list)
    kills: Counter[str] = field(default_factory=Counter)
    kafka_restart_s: float = 0.0
    background: asyncio.Task[None] | None = None
    started: float = field(default_factory=time.monotonic)

    def note(self, what: str) -> None:
        line = f"[{time.monotonic() - self.started:6.1f}s] {what}"
        self.log.append(line)
        print(line, flush=True)

    async def settle(self) -> None:
        if self.background is not None:
            await self.background
            self.background = None

    async def kill(self, names: list[str], at: str) -> None:
        """SIGKILL now; restart after a short pause, in the background."""
        await self.settle()
        for name in names:
            self.platform[name].kill()
            self.kills[name] += 1
        self.note(f"SIGKILL {', '.join(names)} at {at} of the stream")
        self.background = asyncio.create_task(self._restart(names))

    async def _restart(self, names: list[str]) -> None:
        await asyncio.sleep(self.rng.uniform(1.0, 4.0))
        for name in names:
            self.platform[name].start()
        for name in names:
            await self.platform[name].wait_ready(timeout_s=150)
        self.note(f"{', '.join(names)} restarted and ready")

    async def restart_kafka(self, at: str) -> None:
        await self.settle()
        self.note(f"stopping Kafka at {at} of the stream")
        self.background = asyncio.create_task(self._kafka())
        await asyncio.sleep(0)

    async def _kafka(self) -> None:
        began = time.monotonic()
        await asyncio.to_thread(_stack, "stop", self.kafka_env)
        self.note("Kafka stopped")
        await asyncio.sleep(self.rng.uniform(3.0, 6.0))
        await asyncio.to_thread(_stack, "start", self.kafka_env)
        self.kafka_restart_s = time.monotonic() - began
        self.note(f"Kafka started again ({self.kafka_restart_s:.1f}s after the stop began)")
        for service in self.platform.services.values():
            await service.wait_ready(timeout_s=150)
        self.note(f"all services ready again {time.monotonic() - began:.1f}s after the Kafka stop")


def chaos_plan(rng: random.Random) -> list[tuple[float, str, list[str]]]:
    """Each service SIGKILLed twice at four points of the stream; Kafka restarted half-way."""
    first, second = list(SERVICES), list(SERVICES)
    rng.shuffle(first)
    rng.shuffle(second)
    points = [rng.uniform(a, b) for a, b in ((0.12, 0.18), (0.32, 0.38), (0.54, 0.58), (0.72, 0.78))]
    return sorted(
        [
            (points[0], "kill", first[:2]),
            (points[1], "kill", first[2:]),
            (rng.uniform(0.48, 0.52), "kafka", []),
            (points[2], "kill", second[:2]),
            (points[3], "kill", second[2:]),
        ]
    )


# --- HTTP, retried while services are down ---------------------------------------------------


@dataclass
class Http:
    client: httpx.AsyncClient
    platform: Platform
    retries: int = 0

    def url(self, service: str, path: str) -> str:
        return self.platform[service].url + path

    async def call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        as_: str,
        body: dict[str, Any] | None = None,
        done: frozenset[int] = frozenset({200}),
        wait_on: frozenset[int] = frozenset(),
        timeout_s: float = 300.0,
    ) -> httpx.Response:
        """Repeat until the answer is in ``done``; connection errors, 5xx and ``wait_on`` are retried."""
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while True:
            try:
                response = await self.client.request(
                    method, self.url(service, path), json=body, headers=token(as_), timeout=15
                )
                if response.status_code in done:
                    return response
                last = f"{response.status_code} {response.text[:300]}"
                if response.status_code < 500 and response.status_code not in wait_on:
                    raise AssertionError(f"{method} {service}{path}: {last}")
            except httpx.TransportError as error:
                last = repr(error)
            self.retries += 1
            assert time.monotonic() < deadline, f"{method} {service}{path} kept failing: {last}"
            await asyncio.sleep(0.5)

    async def mentorship_of(self, pairing: Pairing) -> dict[str, Any] | None:
        response = await self.call(
            "GET", "matching", f"/v1/mentorships?employee_id={pairing.mentee_id}", as_=pairing.mentee_id
        )
        found = [m for m in response.json()["items"] if m["mentor_id"] == pairing.mentor_id]
        assert len(found) <= 1, f"{pairing}: {len(found)} mentorships"
        return found[0] if found else None

    async def request(self, pairing: Pairing) -> dict[str, Any]:
        """Create the mentorship once: read the state before every retry of the create."""
        deadline = time.monotonic() + 300
        last = ""
        while True:
            existing = await self.mentorship_of(pairing)
            if existing is not None:
                return existing
            try:
                response = await self.client.post(
                    self.url("matching", "/v1/mentorships"),
                    json={"mentee_id": pairing.mentee_id, "mentor_id": pairing.mentor_id},
                    headers=token(pairing.mentee_id),
                    timeout=15,
                )
                if response.status_code == 201:
                    return response.json()
                last = f"{response.status_code} {response.text[:300]}"
                # 404/409: matching has not yet seen the profiles' roles; 5xx: it is going down
                assert response.status_code in (404, 409) or response.status_code >= 500, last
            except httpx.TransportError as error:
                last = repr(error)
            self.retries += 1
            assert time.monotonic() < deadline, f"{pairing}: never created: {last}"
            await asyncio.sleep(0.5)

    async def move(
        self, mentorship_id: str, action: str, *, as_: str, to: str, body: dict | None = None
    ) -> None:
        """Take the transition once: an answer lost in a crash is found in the state."""
        deadline = time.monotonic() + 300
        last = ""
        while True:
            try:
                response = await self.client.post(
                    self.url("matching", f"/v1/mentorships/{mentorship_id}/{action}"),
                    json=body,
                    headers=token(as_),
                    timeout=15,
                )
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:300]}"
                if response.status_code == 409:
                    assert response.json()["detail"].get("current_state") == to, last
                    return
                assert response.status_code >= 500, last
            except httpx.TransportError as error:
                last = repr(error)
            self.retries += 1
            assert time.monotonic() < deadline, f"{action} {mentorship_id}: {last}"
            await asyncio.sleep(0.5)


async def drive_mentorships(
    http: Http,
    feed: Feed,
    plan: list[Pairing],
    published: defaultdict[str, asyncio.Event],
    created: dict[Pairing, str],
) -> None:
    rng = random.Random(SEED + 2)
    bodies = {m: mentor_patch(rng) for m in feed.mentors} | {m: mentee_patch(rng) for m in feed.mentees}
    patched: dict[str, asyncio.Task[None]] = {}
    slots = asyncio.Semaphore(4)

    async def patch(employee_id: str) -> None:
        await published[employee_id].wait()
        async with slots:
            # 404 until profiles has the join; the same PATCH again changes nothing
            await http.call(
                "PATCH",
                "profiles",
                f"/v1/profiles/{employee_id}",
                as_=employee_id,
                body=bodies[employee_id],
                wait_on=frozenset({404}),
            )

    for employee_id in bodies:
        patched[employee_id] = asyncio.create_task(patch(employee_id))

    async def one(pairing: Pairing) -> None:
        await patched[pairing.mentor_id]
        await patched[pairing.mentee_id]
        async with slots:
            mentorship = await http.request(pairing)
            created[pairing] = mentorship["mentorship_id"]
            mentor = pairing.mentor_id
            if pairing.outcome in ("accepted", "ended"):
                await http.move(mentorship["mentorship_id"], "accept", as_=mentor, to="accepted")
            if pairing.outcome == "ended":
                await http.move(
                    mentorship["mentorship_id"], "end", as_=mentor, to="ended", body={"reason": "completed"}
                )
            if pairing.outcome == "declined":
                await http.move(mentorship["mentorship_id"], "decline", as_=mentor, to="declined")

    await asyncio.gather(*patched.values(), *(one(p) for p in plan))


# --- the expected state and the diff ---------------------------------------------------------


def _diff(name: str, actual: dict[str, Any], expected: dict[str, Any], limit: int = 8) -> list[str]:
    problems = []
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    wrong = sorted(k for k in set(actual) & set(expected) if actual[k] != expected[k])
    if missing:
        problems.append(f"{name}: {len(missing)} missing, e.g. {missing[:limit]}")
    if extra:
        problems.append(f"{name}: {len(extra)} unexpected, e.g. {extra[:limit]}")
    for key in wrong[:limit]:
        problems.append(f"{name}[{key}]: got {actual[key]!r}, expected {expected[key]!r}")
    if len(wrong) > limit:
        problems.append(f"{name}: {len(wrong)} differ in all")
    return problems


MENTORSHIP_EMAILS = {"proposed": 1, "declined": 3, "accepted": 3, "ended": 5}
MENTORSHIP_EVENTS = {
    "proposed": ["mentorship.proposed"],
    "declined": ["mentorship.proposed", "mentorship.declined"],
    "accepted": ["mentorship.proposed", "mentorship.accepted"],
    "ended": ["mentorship.proposed", "mentorship.accepted", "mentorship.ended"],
}


@pytest.mark.timeout(900)
async def test_services_converge_to_the_fault_free_state_through_kills_and_a_kafka_restart(
    isolated_settings, tmp_path, record_property
):
    t_begin = time.monotonic()
    rng = random.Random(SEED)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    feed = build_feed(employees=EMPLOYEES, total=EVENTS, mentors=MENTORS, mentees=MENTEES, t0=t0, seed=SEED)
    departments = {e.employee_id: e.department or "" for e in generate_organisation(EMPLOYEES, seed=SEED)}
    plan = pairings(feed, seed=SEED, org_departments=departments)
    expected_profiles, registrations = fold(feed.events)

    port = _port_pair()
    store_port = free_port()
    kafka_env = {
        "TANDEM_LOCAL_DIR": str(tmp_path / "stack"),
        "TANDEM_LOCAL_KAFKA_PORT": str(port),
        "TANDEM_LOCAL_KAFKA_HEAP": "512m",
        "TANDEM_LOCAL_MONGO_PORT": str(store_port),
    }
    store_uri = f"mongodb://127.0.0.1:{store_port}"
    sink = SmtpSink(free_port())
    sink.start()
    mailbox = Mailbox(sink)
    bootstrap = f"127.0.0.1:{port}"
    env = isolated_settings | {
        "TANDEM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "TANDEM_MONGODB_URI": store_uri,
        "TANDEM_SMTP_HOST": "127.0.0.1",
        "TANDEM_SMTP_PORT": str(sink.port),
        "TANDEM_SMTP_FROM": SENDER,
        "TANDEM_SMTP_CONNECTIONS": str(SMTP_CONNECTIONS),
        "TANDEM_DISPATCHER_BATCH_SIZE": str(DISPATCH_BATCH),
        "TANDEM_SMTP_TIMEOUT_S": "5",
        "TANDEM_WEBHOOK_TIMEOUT_S": "5",
        "TANDEM_DELIVERY_LEASE_S": str(LEASE_S),
        "TANDEM_DELIVERY_BACKOFF_INITIAL_S": "0.5",
        "TANDEM_DELIVERY_BACKOFF_MAX_S": "5",
        "TANDEM_DELIVERY_MAX_ATTEMPTS": "100",
        "TANDEM_DISPATCHER_POLL_INTERVAL_S": "0.5",
        "TANDEM_RETENTION_DAYS": "3650",
    }
    platform = Platform(env, tmp_path)
    publisher = Publisher(bootstrap, platform.topic(topics.HR_EMPLOYEES))
    chaos = Chaos(platform, kafka_env, random.Random(SEED + 3))
    http_task: asyncio.Task[None] | None = None
    mongo_client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(store_uri, tz_aware=True)
    try:
        await asyncio.gather(
            asyncio.to_thread(_stack, "start", kafka_env),
            asyncio.to_thread(_stack, "start", kafka_env, "store"),
        )
        await platform.start()
        chaos.note(f"private Kafka on {bootstrap} and the three services are up")

        published: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
        created: dict[Pairing, str] = {}
        async with httpx.AsyncClient() as client:
            http = Http(client, platform)
            http_task = asyncio.create_task(drive_mentorships(http, feed, plan, published, created))
            faults = chaos_plan(rng)
            stream_began = time.monotonic()
            for start in range(0, EVENTS, BATCH):
                while faults and start >= faults[0][0] * EVENTS:
                    _, kind, names = faults.pop(0)
                    at = f"{start / EVENTS:.0%} ({start} events)"
                    await (chaos.kill(names, at) if kind == "kill" else chaos.restart_kafka(at))
                for position in range(start, min(start + BATCH, EVENTS)):
                    if position in feed.leave_gates:
                        await _welcomed(mailbox, feed.leave_gates[position])
                chunk = feed.events[start : start + BATCH]
                await publisher.send([as_record(event) for event in chunk])
                for event in chunk:
                    published[parse_data(event).employee_id].set()
                await asyncio.sleep(PACE_S)
                if (start + BATCH) % (EVENTS // 10) == 0:
                    mailbox.refresh()
                    chaos.note(
                        f"{start + BATCH} HR events published, {len(mailbox.raw)} distinct emails received"
                    )
            await publisher.close()
            chaos.note(f"{EVENTS} HR events published in {time.monotonic() - stream_began:.0f}s")
            await chaos.settle()
            await asyncio.wait_for(http_task, 300)
            chaos.note(f"{len(created)} mentorships driven over HTTP ({http.retries} HTTP retries)")

        expected_emails = 2 * sum(registrations.values()) + sum(MENTORSHIP_EMAILS[p.outcome] for p in plan)
        converged_in, problems = await _converge(
            platform, mongo_client, mailbox, expected_profiles, plan, created, expected_emails
        )
        chaos.note(f"converged {converged_in:.0f}s after the stream" if not problems else "did not converge")
        assert not problems, "not converged within the bound:\n" + "\n".join(problems)

        await asyncio.sleep(LEASE_S + 5)  # a lease-expired resend would show up now
        mailbox.refresh()
        emails, events_problems = await _expected_emails(platform, plan, created, registrations)
        assert not events_problems, "\n".join(events_problems)
        distinct = set(mailbox.raw)
        # The relationships service asks for feedback when a mentorship ends (and may remind):
        # those emails are its own; they must be ones its events allow, and are not modelled here.
        follow_ups = await _relationship_emails(platform)
        assert not (distinct & follow_ups & emails), "a relationship email has a modelled id"
        problems = _diff("emails", dict.fromkeys(distinct - follow_ups), dict.fromkeys(emails))
        assert not problems, "\n".join(problems)
        wrong_ids = [d for d, ids in mailbox.message_ids.items() if ids != {message_id(d, SENDER)}]
        assert not wrong_ids, f"Message-ID is not the delivery's: {wrong_ids[:5]}"
        bound = chaos.kills["notifications"] * 2 * DISPATCH_BATCH
        print(
            f"emails: expected {len(emails)}, distinct {len(distinct)}, raw {sum(mailbox.raw.values())}, "
            f"raw duplicates {mailbox.duplicates} (bound {bound})"
        )
        assert mailbox.duplicates <= bound, f"{mailbox.duplicates} emails sent twice, more than {bound}"

        deliveries = mongo_client[platform.database("notifications")]["deliveries"]
        # The relationships service is not waited for above: a follow-up it asked for late may
        # still be on its way out; give it the time a pass takes, then nothing may be left.
        unfinished = await _undelivered_emails(deliveries, settle_s=60.0)
        # A pass killed between sending and recording leaves its emails sent but unrecorded; if the
        # recipient's leave cancels them before the lease lets them be sent again, the record says
        # cancelled. The mailbox shows they were sent; there can be at most a pass per kill of them.
        sent_then_cancelled = [
            d for d in unfinished if d["status"] == "cancelled" and d["_id"] in distinct and not d["attempts"]
        ]
        unfinished = [d for d in unfinished if d not in sent_then_cancelled]
        assert not unfinished, f"{len(unfinished)} email deliveries not delivered: {unfinished[:5]}"
        assert len(sent_then_cancelled) <= chaos.kills["notifications"] * DISPATCH_BATCH, sent_then_cancelled
        record_property("emails_sent_then_cancelled", len(sent_then_cancelled))

        dead = {t: len(await read_all(bootstrap, platform.topic(topics.dlq(t)))) for t in topics.ALL_TOPICS}
        assert not any(dead.values()), f"dead-lettered by infrastructure faults: {dead}"
        assert dict(chaos.kills) == dict.fromkeys(SERVICES, 2) and chaos.kafka_restart_s > 0

        figures = {
            "hr_events": EVENTS,
            "hr_event_mix": dict(feed.kinds),
            "employees": EMPLOYEES,
            "mentorships": len(created),
            "kills": dict(chaos.kills),
            "kafka_restart_s": round(chaos.kafka_restart_s, 1),
            "convergence_s": round(converged_in, 1),
            "emails_expected": len(emails),
            "emails_distinct": len(distinct),
            "emails_raw": sum(mailbox.raw.values()),
            "emails_raw_duplicates": mailbox.duplicates,
            "publisher_retries": publisher.retries,
            "http_retries": http.retries,
            "total_s": round(time.monotonic() - t_begin, 1),
        }
        for key, value in figures.items():
            record_property(key, value)
        print("chaos figures:", figures)
        print("\n".join(chaos.log))
    finally:
        if http_task is not None and not http_task.done():
            http_task.cancel()
            with contextlib.suppress(BaseException):
                await http_task
        with contextlib.suppress(BaseException):
            await chaos.settle()
        await publisher.close()
        platform.stop()
        await mongo_client.close()
        _stack("stop", kafka_env, "all")
        sink.stop()


async def _welcomed(mailbox: Mailbox, employee_id: str, timeout_s: float = 300.0) -> None:
    """Hold a leave until the leaver's welcome and complete-profile emails are out."""
    deadline = time.monotonic() + timeout_s
    while True:
        mailbox.refresh()
        if len(mailbox.by_recipient.get(employee_id, ())) >= 2:
            return
        assert time.monotonic() < deadline, f"{employee_id} never got their welcome emails"
        await asyncio.sleep(0.3)


async def _state(platform: Platform, client: Any, plan: list[Pairing], created: dict[Pairing, str]):
    profiles_db = client[platform.database("profiles")]["profiles"]
    profiles = {
        d["_id"]: d
        async for d in profiles_db.find(
            {"known": True}, {"status": 1, "hr": 1, "published_version": 1, "mentoring.roles": 1}
        )
    }
    matching = {
        d["_id"]: (d["status"], d["version"])
        async for d in client[platform.database("matching")]["profiles"].find({}, {"status": 1, "version": 1})
    }
    recipients = {
        d["_id"]: (d["status"], d["version"])
        async for d in client[platform.database("notifications")]["recipients"].find(
            {}, {"status": 1, "version": 1}
        )
    }
    mentorships = [
        d
        async for d in client[platform.database("matching")]["mentorships"].find(
            {}, {"mentor_id": 1, "mentee_id": 1, "status": 1}
        )
    ]
    pending = await client[platform.database("notifications")]["deliveries"].count_documents(
        {"channel": "email", "status": "pending"}
    )
    return profiles, matching, recipients, mentorships, pending


async def _converge(
    platform: Platform,
    client: Any,
    mailbox: Mailbox,
    expected_profiles: dict[str, Any],
    plan: list[Pairing],
    created: dict[Pairing, str],
    expected_emails: int,
) -> tuple[float, list[str]]:
    began = time.monotonic()
    want_profiles = {
        employee_id: {"status": p.status, "hr": {k: v for k, v in p.hr.to_json().items() if v is not None}}
        for employee_id, p in expected_profiles.items()
        if p.known
    }
    roles = {p.mentor_id: ["mentor"] for p in plan} | {p.mentee_id: ["mentee"] for p in plan}
    want_mentorships = {created[p]: (p.mentor_id, p.mentee_id, p.outcome) for p in plan if p in created}
    problems = ["not checked yet"]
    while time.monotonic() - began < CONVERGE_S:
        profiles, matching, recipients, mentorships, pending = await _state(platform, client, plan, created)
        published = {
            k: (d["status"], d["published_version"]) for k, d in profiles.items() if d["published_version"]
        }
        mailbox.refresh()
        problems = [
            *_diff(
                "profiles",
                {k: {"status": d["status"], "hr": d["hr"]} for k, d in profiles.items()},
                want_profiles,
            ),
            *_diff(
                "profile roles",
                {k: profiles[k]["mentoring"]["roles"] for k in roles if k in profiles},
                roles,
            ),
            *_diff("matching projection", matching, published),
            *_diff("notifications recipients", recipients, published),
            *_diff(
                "mentorships",
                {d["_id"]: (d["mentor_id"], d["mentee_id"], d["status"]) for d in mentorships},
                want_mentorships,
            ),
        ]
        if len(want_mentorships) != len(plan):
            problems.append(f"only {len(want_mentorships)} of {len(plan)} mentorships were created")
        if len(mailbox.raw) < expected_emails or pending:
            problems.append(
                f"emails: {len(mailbox.raw)} of {expected_emails} distinct received, {pending} pending"
            )
        if not problems:
            return time.monotonic() - began, []
        await asyncio.sleep(3.0)
    return time.monotonic() - began, problems


async def _undelivered_emails(deliveries: Any, *, settle_s: float) -> list[dict[str, Any]]:
    """Email deliveries not delivered once none is pending any more (or ``settle_s`` passed)."""
    deadline = time.monotonic() + settle_s
    while time.monotonic() < deadline:
        if not await deliveries.count_documents({"channel": "email", "status": "pending"}):
            break
        await asyncio.sleep(1.0)
    fields = {"status": 1, "kind": 1, "recipient_id": 1, "event_type": 1, "last_error": 1, "attempts": 1}
    return [d async for d in deliveries.find({"channel": "email", "status": {"$ne": "delivered"}}, fields)]


async def _relationship_emails(platform: Platform) -> set[str]:
    """The delivery ids of every email an event on ``tandem.relationships`` may cause."""
    allowed: set[str] = set()
    for record in await read_all(platform.bootstrap, platform.topic(topics.RELATIONSHIPS)):
        event_id = dict(record.headers)["ce_id"].decode()
        data = json.loads(record.value)
        people = {data.get("mentor_id"), data.get("mentee_id"), data.get("respondent_id")}
        people |= set(data.get("recipient_ids") or []) | set(data.get("nudge_ids") or [])
        people |= set(data.get("alert_admin_ids") or [])
        allowed.update(f"{event_id}:{person}:email" for person in people if person)
    return allowed


async def _expected_emails(
    platform: Platform, plan: list[Pairing], created: dict[Pairing, str], registrations: Counter[str]
) -> tuple[set[str], list[str]]:
    """The delivery id of every email a fault-free run sends, from the events that cause them.

    The ids of the causing events are minted by the services, so they are read back from the
    topics; that they are the right events, each once, is checked against the test's own model.
    """
    bootstrap = platform.bootstrap
    problems: list[str] = []
    profile_events = await read_all(bootstrap, platform.topic(topics.PROFILES))
    by_version: dict[tuple[str, int], set[str]] = {}
    registered: dict[str, set[str]] = {}
    for record in profile_events:
        headers = dict(record.headers)
        event_id, kind = headers["ce_id"].decode(), headers["ce_type"].decode()
        employee_id = record.key.decode()
        version = json.loads(record.value)["version"]
        by_version.setdefault((employee_id, version), set()).add(event_id)
        if kind == "profile.registered":
            registered.setdefault(employee_id, set()).add(event_id)
    twice = {k: v for k, v in by_version.items() if len(v) > 1}
    if twice:
        problems.append(f"profile versions published as different events: {list(twice.items())[:5]}")
    problems += _diff(
        "profile.registered per employee", {k: len(v) for k, v in registered.items()}, dict(registrations)
    )

    emails: set[str] = set()
    for employee_id, ids in registered.items():
        for event_id in ids:
            emails.add(f"{event_id}:{employee_id}:email")
            emails.add(f"{event_id}#complete_profile:{employee_id}:email")

    by_mentorship: dict[str, dict[str, set[str]]] = {}
    for record in await read_all(bootstrap, platform.topic(topics.MENTORSHIPS)):
        headers = dict(record.headers)
        per_type = by_mentorship.setdefault(record.key.decode(), {})
        per_type.setdefault(headers["ce_type"].decode(), set()).add(headers["ce_id"].decode())
    pairs = {created[p]: p for p in plan if p in created}
    problems += _diff(
        "mentorship events",
        {m: sorted((t, len(ids)) for t, ids in types.items()) for m, types in by_mentorship.items()},
        {m: sorted((t, 1) for t in MENTORSHIP_EVENTS[p.outcome]) for m, p in pairs.items()},
    )
    for mentorship_id, types in by_mentorship.items():
        pairing = pairs.get(mentorship_id)
        if pairing is None:
            continue
        for event_type, ids in types.items():
            to = (
                [pairing.mentor_id]
                if event_type == "mentorship.proposed"
                else [pairing.mentor_id, pairing.mentee_id]
            )
            emails.update(f"{event_id}:{person}:email" for event_id in ids for person in to)
    return emails, problems
