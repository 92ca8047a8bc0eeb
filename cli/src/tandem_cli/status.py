"""``tandem status``: service readiness, consumer lag per topic, dead letters per ``.dlq`` topic."""

import asyncio
from dataclasses import dataclass, field

import httpx
from tandem_contracts import topics

from tandem_cli import kafka_io

__all__ = ["GROUPS", "KafkaReport", "ServiceHealth", "kafka_report", "service_health"]

GROUPS = ("tandem-profiles", "tandem-matching", "tandem-notifications")


@dataclass(frozen=True, slots=True)
class ServiceHealth:
    name: str
    url: str
    status: str  # "ready", "unavailable" or "unreachable"
    checks: dict[str, bool] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ready"


@dataclass(frozen=True, slots=True)
class KafkaReport:
    lag: dict[str, dict[str, int]]  # group -> topic -> records not yet consumed
    dead_letters: dict[str, int]  # dlq topic -> records in it


async def _one(client: httpx.AsyncClient, name: str, url: str) -> ServiceHealth:
    try:
        answer = await client.get(f"{url}/health/ready")
        body = answer.json()
    except (httpx.HTTPError, ValueError) as error:
        return ServiceHealth(name, url, "unreachable", error=f"{type(error).__name__}: {error}")
    return ServiceHealth(name, url, str(body.get("status", answer.status_code)), body.get("checks", {}))


async def service_health(urls: dict[str, str], *, timeout_s: float = 5.0) -> list[ServiceHealth]:
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        return list(await asyncio.gather(*(_one(client, n, u) for n, u in urls.items())))


async def kafka_report(
    bootstrap_servers: str, *, topic_prefix: str = "", group_prefix: str = ""
) -> KafkaReport:
    """Lag of the services' consumer groups, and how many records each dead-letter topic holds."""
    lag: dict[str, dict[str, int]] = {}
    async with (
        kafka_io.admin_client(bootstrap_servers) as admin,
        kafka_io.consumer(bootstrap_servers) as reader,
    ):
        for group in GROUPS:
            committed = await admin.list_consumer_group_offsets(f"{group_prefix}{group}")
            tps = [tp for tp, meta in committed.items() if meta is not None and meta.offset >= 0]
            ends = await reader.end_offsets(tps) if tps else {}
            per_topic: dict[str, int] = {}
            for tp in tps:
                behind = max(0, ends[tp] - committed[tp].offset)
                per_topic[tp.topic] = per_topic.get(tp.topic, 0) + behind
            lag[group] = dict(sorted(per_topic.items()))
        every = await kafka_io.partitions_by_topic(reader)
        # The platform's own dead-letter topics only: a shared broker may hold many others.
        ours = {topics.dlq(f"{topic_prefix}{name}") for name in topics.ALL_TOPICS}
        dlq_names = sorted(name for name in every if name in ours)
        partitions = [tp for name in dlq_names for tp in every[name]]
        begin, end = await kafka_io.offset_range(reader, partitions)
    dead = dict.fromkeys(dlq_names, 0)
    for tp in partitions:
        dead[tp.topic] += end[tp] - begin[tp]
    return KafkaReport(lag, dead)
