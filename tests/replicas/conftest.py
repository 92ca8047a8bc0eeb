"""Two replicas of every service as processes, on the real broker and store.

Each replica has its own HTTP port; the replicas of a service share its consumer group and its
database, as two pods of one Deployment do. The store must make conditional writes atomic
(MongoDB; the local FerretDB with deploy/local/ferretdb/atomic-conditional-writes.patch).
"""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from tandem_chassis.auth import mint_dev_token
from tandem_chassis.testing import (
    Platform,
    ServiceProcess,
    eventually,
    free_port,
    publish_event,
    read_topic,
)
from tandem_cli import kafka_io
from tandem_contracts import EventData, ProfileRegistered, topics

from services.notifications.tests.support import SmtpSink

REPLICAS = 2
WAIT_S = 180.0
CHECKIN_S = 6.0


def fast_settings(sink: SmtpSink) -> dict[str, str]:
    """Short intervals and leases, so that replicas hand work over within seconds."""
    return {
        "TANDEM_SMTP_HOST": "127.0.0.1",
        "TANDEM_SMTP_PORT": str(sink.port),
        "TANDEM_SMTP_TIMEOUT_S": "3",
        "TANDEM_WEBHOOK_TIMEOUT_S": "3",
        "TANDEM_DELIVERY_LEASE_S": "4",
        "TANDEM_DELIVERY_BACKOFF_INITIAL_S": "0.2",
        "TANDEM_DELIVERY_BACKOFF_MAX_S": "1",
        "TANDEM_DELIVERY_MAX_ATTEMPTS": "50",
        "TANDEM_DISPATCHER_POLL_INTERVAL_S": "0.5",
        "TANDEM_POOL_REFRESH_INTERVAL_S": "0.5",
        # The periodic jobs, due every few seconds on every replica: proposal expiry (matching)
        # and check-in reminders, one every CHECKIN_S (notifications).
        "TANDEM_EXPIRY_INTERVAL_S": "0.5",
        "TANDEM_CHECKIN_DAYS": str(CHECKIN_S / 86400),
        "TANDEM_REMINDER_POLL_INTERVAL_S": "0.5",
    }


@dataclass
class Cluster:
    """The replicated platform, its mail sink, and the calls a client makes to it."""

    platform: Platform
    sink: SmtpSink
    http: httpx.AsyncClient

    def replicas(self, service: str) -> list[ServiceProcess]:
        return self.platform.replicas[service]

    @staticmethod
    def mentor(employee_id: str, capacity: int) -> ProfileRegistered:
        return person(
            employee_id,
            level=5,
            roles=["mentor"],
            skills=[{"name": "python", "level": 4}],
            mentor_capacity=capacity,
        )

    @staticmethod
    def mentee(employee_id: str) -> ProfileRegistered:
        return person(employee_id, level=2, roles=["mentee"], goals=[{"name": "python", "level": 3}])

    def headers(self, sub: str, *roles: str) -> dict[str, str]:
        secret = self.platform.env["TANDEM_JWT_SECRET"]
        token = mint_dev_token(secret, sub=sub, roles=list(roles or ["employee"]))
        return {"Authorization": f"Bearer {token}"}

    def admin(self) -> dict[str, str]:
        return self.headers("admin-1", "employee", "program_admin")

    async def call(self, method: str, replica: ServiceProcess, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, replica.url + path, **kwargs)

    async def feed_profiles(self, *data: EventData) -> None:
        """Profile events on the public topic, as the profiles service publishes them."""
        await publish_event(self.platform.bootstrap, self.platform.topic(topics.PROFILES), *data)

    async def publish_hr(self, *data: EventData) -> None:
        await publish_event(self.platform.bootstrap, self.platform.topic(topics.HR_EMPLOYEES), *data)

    async def known_to_every_matching_replica(self, mentor_id: str, *mentee_ids: str) -> None:
        """Wait until each matching replica suggests ``mentor_id`` to every one of ``mentee_ids``.

        Profiles are spread over the topic's partitions, so one mentee being known says nothing
        about the others: each is checked on each replica."""
        replicas = self.replicas("matching")
        waiting = {(n, mentee) for n in range(len(replicas)) for mentee in mentee_ids}

        async def suggested_everywhere() -> bool:
            for n, mentee in sorted(waiting):
                answer = await self.call(
                    "GET", replicas[n], f"/v1/mentees/{mentee}/suggestions", headers=self.headers(mentee)
                )
                found = answer.json().get("suggestions", []) if answer.status_code == 200 else []
                if mentor_id in {s["mentor_id"] for s in found}:
                    waiting.discard((n, mentee))
            return not waiting

        what = f"{mentor_id} suggested to {len(mentee_ids)} mentee(s) by every replica"
        await eventually(suggested_everywhere, what, WAIT_S)

    async def records(self, topic: str) -> list[Any]:
        """Every record the topic holds now."""
        async with kafka_io.consumer(self.platform.bootstrap) as reader:
            partitions = await kafka_io.partitions_of(reader, self.platform.topic(topic))
            begin, end = await kafka_io.offset_range(reader, partitions)
        held = sum(end[tp] - begin[tp] for tp in end)
        return await read_topic(self.platform.bootstrap, self.platform.topic(topic), until=held)

    async def lag(self, group: str, topic: str) -> int:
        """Events of ``topic`` the service's consumer group has not committed yet."""
        name = self.platform.topic(topic)
        group_id = self.platform.env["TANDEM_KAFKA_GROUP_PREFIX"] + group
        async with (
            kafka_io.admin_client(self.platform.bootstrap) as admin,
            kafka_io.consumer(self.platform.bootstrap) as reader,
        ):
            partitions = await kafka_io.partitions_of(reader, name)
            committed = await admin.list_consumer_group_offsets(group_id, partitions=partitions)
            _, end = await kafka_io.offset_range(reader, partitions)
        done = {tp: max(0, meta.offset) for tp, meta in committed.items() if meta is not None}
        return sum(end[tp] - done.get(tp, 0) for tp in end)

    async def assignments(self, group: str) -> list[set[tuple[str, int]]]:
        """The (topic, partition) pairs each member of the service's consumer group holds."""
        group_id = self.platform.env["TANDEM_KAFKA_GROUP_PREFIX"] + group
        async with kafka_io.admin_client(self.platform.bootstrap) as admin:
            responses = await admin.describe_consumer_groups([group_id])
        members = [m for r in responses for g in r.to_object()["groups"] for m in g["members"]]
        return [
            {(tp.topic, tp.partition) for tp in assignment.partitions()}
            for assignment in (
                ConsumerProtocolMemberAssignment.decode(m["member_assignment"]) for m in members
            )
        ]


def person(employee_id: str, **fields: Any) -> ProfileRegistered:
    values: dict[str, Any] = {
        "email": f"{employee_id}@example.com",
        "display_name": employee_id.upper(),
        "department": "eng",
        "timezone": "Europe/Berlin",
        "languages": ["en"],
    }
    return ProfileRegistered(employee_id=employee_id, version=1, status="active", **(values | fields))


def isolated_env(infrastructure: Any) -> dict[str, str]:
    """Like the root conftest's ``isolated_settings``, for a platform shared by a module."""
    run = f"r{uuid.uuid4().hex[:10]}"
    return {
        "TANDEM_KAFKA_BOOTSTRAP_SERVERS": infrastructure.kafka_bootstrap_servers,
        "TANDEM_MONGODB_URI": infrastructure.mongodb_uri,
        "TANDEM_KAFKA_TOPIC_PREFIX": f"{run}.",
        "TANDEM_KAFKA_GROUP_PREFIX": f"{run}.",
        "TANDEM_KAFKA_TOPIC_PARTITIONS": "3",
        "TANDEM_DB_SUFFIX": run,
        "TANDEM_ENV": "dev",
        "TANDEM_JWT_SECRET": "test-secret-for-dev-mode-only-0123456789",
        "TANDEM_OUTBOX_POLL_INTERVAL_S": "0.2",
        "TANDEM_CONSUMER_BACKOFF_INITIAL_S": "0.05",
        "TANDEM_CONSUMER_BACKOFF_MAX_S": "0.5",
        "TANDEM_CONSUMER_MAX_ATTEMPTS": "3",
    }


async def running_cluster(env: dict[str, str], log_dir: Path) -> AsyncIterator[Cluster]:
    sink = SmtpSink(free_port())
    sink.start()
    platform = Platform(fast_settings(sink) | env, log_dir, replicas=REPLICAS)
    try:
        await platform.start()
        async with httpx.AsyncClient(timeout=60.0) as http:
            yield Cluster(platform, sink, http)
    finally:
        platform.stop()
        sink.stop()


@pytest.fixture(scope="module")
async def cluster(reachable_infrastructure, tmp_path_factory) -> AsyncIterator[Cluster]:  # type: ignore[no-untyped-def]
    """Two replicas of each service, shared by the tests of a module (they use distinct ids)."""
    async for running in running_cluster(
        isolated_env(reachable_infrastructure), tmp_path_factory.mktemp("replicas")
    ):
        yield running


@pytest.fixture
async def fresh_cluster(isolated_settings, tmp_path) -> AsyncIterator[Cluster]:  # type: ignore[no-untyped-def]
    """Two replicas of each service for one test alone (a test that kills some, under load).

    Its delivery lease outlasts any dispatcher pass while the store is busy with thousands of
    events: a lease that runs out before the pass records what it sent lets the other replica
    send it again (at least once, by design), which the test would count as a duplicate.
    """
    async for running in running_cluster(isolated_settings | {"TANDEM_DELIVERY_LEASE_S": "15"}, tmp_path):
        yield running
