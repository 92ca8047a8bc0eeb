"""One replica of every service SIGKILLed in the middle of a burst of 5,000 HR events.

The survivors take over the dead replicas' partitions (consumer group rebalance) and their
claimed deliveries (the delivery lease runs out): every employee is registered, projected and
welcomed, no email is sent twice (counted on the raw SMTP messages), and every consumer group's
lag returns to zero, all without restarting the dead replicas.
"""

import asyncio
import time
from collections import Counter
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from tandem_chassis.testing import eventually
from tandem_contracts import EmployeeJoined, topics

from services.notifications.tests.support import Mailbox

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

EMPLOYEES = 5000
BATCH = 500  # joins per publish, sent back to back: the services work through a backlog
KILL_AFTER = 2000  # joins published before the kill; the rest only once the replicas are dead
EMAILS_PER_JOIN = 2  # a welcome and a nudge to complete the mentoring profile
WAIT_S = 600.0
CONSUMED = {
    "tandem-profiles": (topics.HR_EMPLOYEES,),
    "tandem-matching": (topics.PROFILES, topics.RELATIONSHIPS),
    "tandem-notifications": (topics.PROFILES, topics.MENTORSHIPS, topics.PROGRAMS, topics.RELATIONSHIPS),
    "tandem-relationships": (topics.MENTORSHIPS, topics.PROFILES, topics.PROGRAMS),
}
PROJECTIONS = (
    ("profiles", "profiles"),
    ("matching", "profiles"),
    ("notifications", "recipients"),
    ("relationships", "people"),
)


def _joined(n: int) -> EmployeeJoined:
    return EmployeeJoined(
        employee_id=f"e-{n}", display_name=f"Employee {n}", email=f"e-{n}@example.com", languages=["en"]
    )


async def survivor_holds_every_partition(cluster: Any, group: str) -> bool:
    """The group is left with the survivor's consumers (one per topic it reads), which hold
    every partition of those topics, the dead replica's among them."""
    names = [cluster.platform.topic(topic) for topic in CONSUMED[group]]
    partitions = int(cluster.platform.env["TANDEM_KAFKA_TOPIC_PARTITIONS"])
    held = await cluster.assignments(group)
    assert len(held) == len(names), f"{len(held)} consumers in the group"
    return set().union(*held) == {(name, p) for name in names for p in range(partitions)}


async def test_sigkill_one_replica_of_each_service_mid_burst_loses_nothing_and_sends_nothing_twice(
    fresh_cluster, mongo_client: AsyncMongoClient[dict[str, object]]
) -> None:
    cluster = fresh_cluster
    platform, sink = cluster.platform, cluster.sink
    mail = Mailbox(sink)
    deliveries = mongo_client[platform.database("notifications")]["deliveries"]
    killed = asyncio.Event()
    began = time.monotonic()

    def clock() -> str:
        return f"{time.monotonic() - began:.0f}s"

    async def publish_burst() -> None:
        for start in range(0, EMPLOYEES, BATCH):
            if start == KILL_AFTER:
                await killed.wait()
            await cluster.publish_hr(*map(_joined, range(start, min(start + BATCH, EMPLOYEES))))

    publishing = asyncio.create_task(publish_burst())
    try:
        await eventually(lambda: mail.refresh().total >= KILL_AFTER // 2, "the first emails", WAIT_S)
        # Freeze the SMTP side (451 to every message) until what it accepted is recorded: an email
        # accepted but not yet recorded when its sender dies is sent again by design (at least once).
        sink.refusing = True
        accepted = list(mail.refresh().raw)

        async def recorded() -> bool:
            query = {"_id": {"$in": accepted}, "status": "delivered"}
            return await deliveries.count_documents(query) == len(accepted)

        await eventually(recorded, "accepted emails recorded", WAIT_S)
        for service in CONSUMED:
            victim = platform.replicas[service.removeprefix("tandem-")][0]
            victim.kill()
            assert victim.process is not None and victim.process.returncode == -9
        killed_at, emails_before = clock(), len(accepted)
        sink.refusing = False
        killed.set()
        await publishing
    finally:
        publishing.cancel()
    published_at = clock()

    for group in CONSUMED:
        await eventually(
            lambda group=group: survivor_holds_every_partition(cluster, group),
            f"{group}: the survivor holds every partition",
            WAIT_S,
            interval_s=1,
        )
    rebalanced_at = clock()

    expected = EMPLOYEES * EMAILS_PER_JOIN
    await eventually(lambda: len(mail.refresh().raw) >= expected, f"{expected} distinct emails", WAIT_S)
    emailed_at = clock()
    lags: dict[str, int] = {}

    async def caught_up() -> bool:
        for group, names in CONSUMED.items():
            lags[group] = sum([await cluster.lag(group, topic) for topic in names])
        return not any(lags.values())

    await eventually(caught_up, "every consumer group's lag back to zero", WAIT_S, interval_s=1)
    caught_up_at = clock()
    await asyncio.sleep(3)  # a late duplicate would have arrived by now
    mail.refresh()
    # A relay killed between publishing and deleting its entries publishes them again (by
    # design, consumers drop what they saw); the one relay per collection publishes nothing twice.
    ce_ids = Counter(dict(r.headers)["ce_id"] for r in await cluster.records(topics.PROFILES))
    twice = mail.twice()
    print(
        f"\n  {EMPLOYEES} HR joins in batches of {BATCH}; one replica of each service SIGKILLed at "
        f"{killed_at} after {emails_before} emails; burst published {published_at}; survivors hold "
        f"every partition {rebalanced_at}; all emails {emailed_at}; lag {sum(lags.values())} "
        f"{caught_up_at}; total {clock()}"
        f"\n  tandem.profiles records {sum(ce_ids.values())}, distinct events {len(ce_ids)}"
        f"\n  raw SMTP messages {mail.total}, distinct {len(mail.raw)}, expected {expected}, "
        f"sent twice {len(twice)}; lag per group {lags}"
    )
    assert len(ce_ids) == EMPLOYEES
    assert not twice, f"{len(twice)} emails sent more than once, e.g. {list(twice)[:5]}"
    assert len(mail.raw) == expected
    assert mail.kinds() == {"welcome": EMPLOYEES, "complete_profile": EMPLOYEES}
    for service, collection in PROJECTIONS:
        stored = await mongo_client[platform.database(service)][collection].count_documents({})
        assert stored == EMPLOYEES, f"{service}.{collection} holds {stored} of {EMPLOYEES}"
