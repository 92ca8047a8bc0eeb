"""One replica of every service SIGKILLed in the middle of a burst of HR events.

The survivors take over the dead replicas' partitions (consumer group rebalance) and their
claimed deliveries (the delivery lease runs out): every employee is registered, projected and
welcomed, no email is sent twice (counted on the raw SMTP messages), and every consumer group's
lag returns to zero, all without restarting the dead replicas.
"""

import asyncio
from collections import Counter

import pytest
from pymongo import AsyncMongoClient
from tandem_chassis.testing import eventually
from tandem_contracts import EmployeeJoined, topics

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

EMPLOYEES = 1000
BATCH = 50
KILL_AFTER = 400  # joins published before the kill; the rest only once the replicas are dead
EMAILS_PER_JOIN = 2  # a welcome and a nudge to complete the mentoring profile
WAIT_S = 420.0
CONSUMED = {
    "tandem-profiles": (topics.HR_EMPLOYEES,),
    "tandem-matching": (topics.PROFILES,),
    "tandem-notifications": (topics.PROFILES, topics.MENTORSHIPS, topics.PROGRAMS),
}


def _joined(n: int) -> EmployeeJoined:
    return EmployeeJoined(
        employee_id=f"e-{n}", display_name=f"Employee {n}", email=f"e-{n}@example.com", languages=["en"]
    )


async def test_sigkill_one_replica_of_each_service_mid_burst_loses_nothing_and_sends_nothing_twice(
    fresh_cluster, mongo_client: AsyncMongoClient[dict[str, object]]
) -> None:
    cluster = fresh_cluster
    platform, sink = cluster.platform, cluster.sink
    deliveries = mongo_client[platform.database("notifications")]["deliveries"]
    killed = asyncio.Event()

    async def publish_burst() -> None:
        for start in range(0, EMPLOYEES, BATCH):
            if start == KILL_AFTER:
                await killed.wait()
            await cluster.publish_hr(*map(_joined, range(start, min(start + BATCH, EMPLOYEES))))
            await asyncio.sleep(0.2)

    publishing = asyncio.create_task(publish_burst())
    try:
        await eventually(lambda: len(sink.snapshot()) >= KILL_AFTER // 2, "the first emails", WAIT_S)
        # Freeze the SMTP side (451 to every message) until what it accepted is recorded: an email
        # accepted but not yet recorded when its sender dies is sent again by design (at least once).
        sink.refusing = True
        accepted = list({str(r.message["X-Tandem-Delivery-Id"]) for r in sink.snapshot()})

        async def recorded() -> bool:
            query = {"_id": {"$in": accepted}, "status": "delivered"}
            return await deliveries.count_documents(query) == len(accepted)

        await eventually(recorded, "accepted emails recorded", WAIT_S)
        for service in CONSUMED:
            victim = platform.replicas[service.removeprefix("tandem-")][0]
            victim.kill()
            assert victim.process is not None and victim.process.returncode == -9
        sink.refusing = False
        killed.set()
        await publishing
    finally:
        publishing.cancel()

    expected = EMPLOYEES * EMAILS_PER_JOIN

    def delivered_ids() -> Counter[str]:
        return Counter(str(r.message["X-Tandem-Delivery-Id"]) for r in sink.snapshot())

    await eventually(lambda: len(delivered_ids()) >= expected, f"{expected} distinct emails", WAIT_S)

    async def caught_up() -> bool:
        lags = [await cluster.lag(group, topic) for group, names in CONSUMED.items() for topic in names]
        return not any(lags)

    await eventually(caught_up, "every consumer group's lag back to zero", WAIT_S)
    await asyncio.sleep(3)  # a late duplicate would have arrived by now
    ids = delivered_ids()
    # A relay killed between publishing and deleting its entries publishes them again (by
    # design, consumers drop what they saw); the one relay per collection publishes nothing twice.
    ce_ids = Counter(dict(r.headers)["ce_id"] for r in await cluster.records(topics.PROFILES))
    print(f"  tandem.profiles records {sum(ce_ids.values())}, distinct events {len(ce_ids)}")
    assert len(ce_ids) == EMPLOYEES
    twice = {delivery: n for delivery, n in ids.items() if n > 1}
    print(f"  raw SMTP messages {sum(ids.values())}, distinct {len(ids)}, expected {expected}")
    assert not twice, f"{len(twice)} emails sent more than once, e.g. {list(twice)[:5]}"
    assert len(ids) == expected
    kinds = Counter(str(r.message["X-Tandem-Notification-Kind"]) for r in sink.snapshot())
    assert kinds == {"welcome": EMPLOYEES, "complete_profile": EMPLOYEES}
    for service, collection in (
        ("profiles", "profiles"),
        ("matching", "profiles"),
        ("notifications", "recipients"),
    ):
        stored = await mongo_client[platform.database(service)][collection].count_documents({})
        assert stored == EMPLOYEES, f"{service}.{collection} holds {stored} of {EMPLOYEES}"
