"""The chassis' reliability rules on the real broker and store."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tandem_chassis import (
    AggregateStore,
    PermanentError,
    ServiceRuntime,
    Upsert,
    upsert_if_newer,
    upsert_many_if_newer,
)
from tandem_chassis.metrics import STORE_COMMANDS
from tandem_chassis.outbox import AggregateWrite, OutboxRelay
from tandem_chassis.testing import as_record, eventually, publish_raw, read_topic
from tandem_contracts import EmployeeJoined, EmployeeLeft, ProfileRegistered, new_event, topics

pytestmark = pytest.mark.integration


def _joined(employee_id: str, **extra: object) -> EmployeeJoined:
    return EmployeeJoined(
        employee_id=employee_id, email=f"{employee_id}@example.com", display_name=employee_id, **extra
    )


@contextlib.asynccontextmanager
async def outbox_world(
    service_settings: Any, mongo_client: Any, service: str
) -> AsyncIterator[tuple[Any, ServiceRuntime, AggregateStore, Any]]:
    """Settings, a runtime with its broker started, an aggregate store and its collection."""
    from tandem_chassis.kafka import ensure_topics

    settings = service_settings(service=service)
    runtime = ServiceRuntime(settings)
    collection = mongo_client[settings.database_name]["aggregates"]
    store = AggregateStore(collection, source="/tests", topic_prefix=settings.kafka_topic_prefix)
    await ensure_topics(settings=settings)
    await runtime.broker.start()
    try:
        yield settings, runtime, store, collection
    finally:
        await runtime.broker.stop()


async def test_outbox_events_are_published_in_order_and_only_once(service_settings, mongo_client):
    async with outbox_world(service_settings, mongo_client, "outbox") as world:
        settings, runtime, store, collection = world
        relay = OutboxRelay(runtime.broker, [collection], poll_interval_s=0.1)
        snapshot = {"employee_id": "e-1", "status": "active"}
        assert await store.create("e-1", {"n": 0}, [ProfileRegistered(**snapshot, version=1)])
        assert not await store.create("e-1", {"n": 0}, [ProfileRegistered(**snapshot, version=1)])
        for version in (2, 3):
            current = await store.get("e-1")
            assert await store.update(
                current, {"n": version}, [ProfileRegistered(**snapshot, version=version)]
            )
        stale = await store.get("e-1")
        await store.update(stale, {"n": 4})
        lost_race = [ProfileRegistered(**snapshot, version=99)]
        assert not await store.update(stale, {"n": 5}, lost_race), "a stale read must not overwrite"

        assert await relay.drain_once() == 3, "the entry of the write that lost is not published"
        assert await relay.drain_once() == 0
        records = await read_topic(settings.kafka_bootstrap_servers, settings.topic(topics.PROFILES), until=3)
        assert [json.loads(r.value)["version"] for r in records] == [1, 2, 3]
        assert {r.key for r in records} == {b"e-1"}
        stored = await store.get("e-1")
        assert stored["n"] == 4 and stored["outbox_seq"] == 3
        assert await store.outbox.count_documents({}) == 0, "the loser withdrew its entry"
        assert await store.update(stored, {"n": 6}, [ProfileRegistered(**snapshot, version=4)])
        assert await relay.drain_once() == 1
        records = await read_topic(settings.kafka_bootstrap_servers, settings.topic(topics.PROFILES), until=4)
        assert [json.loads(r.value)["version"] for r in records] == [1, 2, 3, 4], "the leftover was replaced"
        assert await store.outbox.count_documents({}) == 0, "published entries are removed"


async def test_an_aggregate_whose_earlier_entry_the_relay_missed_waits_for_it(service_settings, mongo_client):
    """The relay reads the outbox in the store's natural order (the local store sorts only by
    reading everything); an aggregate whose earlier entry lies beyond the batch waits for it."""
    async with outbox_world(service_settings, mongo_client, "natural") as world:
        settings, runtime, store, collection = world
        relay = OutboxRelay(runtime.broker, [collection], poll_interval_s=0.1, batch_size=2)
        a = {"employee_id": "a", "status": "active"}
        assert await store.create(
            "a", {"n": 1}, [ProfileRegistered(**a, version=1), ProfileRegistered(**a, version=2)]
        )
        assert await store.create(
            "b", {"n": 1}, [ProfileRegistered(employee_id="b", status="active", version=1)]
        )
        first = await store.outbox.find_one({"aggregate_id": "a", "seq": 1})
        await store.outbox.delete_one({"_id": first["_id"]})
        await store.outbox.insert_one(first)  # natural order now: a:2, b:1, a:1

        assert await relay.drain_once() == 1, "b's entry goes; a's second waits for its first"
        assert await relay.drain_once() == 2
        records = await read_topic(settings.kafka_bootstrap_servers, settings.topic(topics.PROFILES), until=3)
        assert [(r.key, json.loads(r.value)["version"]) for r in records if r.key == b"a"] == [
            (b"a", 1),
            (b"a", 2),
        ]
        assert await store.outbox.count_documents({}) == 0


async def test_between_scans_the_relay_reads_the_entries_commit_records_name_not_the_oldest(
    service_settings, mongo_client
):
    """Entries of writes still in flight (staged, no commit record yet) are not read again and
    again: a pass reads what the commit records name, by ``_id``; the oldest entries are read at
    start and every ``scan_interval_s``."""
    async with outbox_world(service_settings, mongo_client, "named") as world:
        settings, runtime, store, collection = world
        relay = OutboxRelay(runtime.broker, [collection], poll_interval_s=0.1, batch_size=2)
        assert await relay.drain_once() == 0, "the first pass scans (an empty outbox)"
        in_flight = [
            entry
            for n in range(3)
            for entry in store._entries(
                f"w-{n}", [ProfileRegistered(employee_id=f"w-{n}", status="active", version=1)], 1
            )
        ]
        await store.outbox.insert_many(in_flight)  # staged by writers that have not landed yet
        assert await store.create(
            "e-9", {}, [ProfileRegistered(employee_id="e-9", status="active", version=1)]
        )
        assert await relay.drain_once() == 1, "the committed entry behind two in-flight ones goes"
        records = await read_topic(settings.kafka_bootstrap_servers, settings.topic(topics.PROFILES), until=1)
        assert [r.key for r in records] == [b"e-9"]
        assert await store.outbox.count_documents({}) == 3, "the in-flight entries wait"
        assert await store.commits.count_documents({}) == 0, "the spent commit record is gone"

        await store.outbox.delete_many({})
        relay._next_scan.clear()  # a scan is due
        assert await store.create(
            "e-10", {}, [ProfileRegistered(employee_id="e-10", status="active", version=1)]
        )
        assert await relay.drain_once() == 1, "a scan publishes what is committed as before"


async def test_a_commit_record_naming_more_than_a_batch_is_published_whole_between_scans(
    service_settings, mongo_client
):
    """One bulk write of 1,200 aggregates commits 1,200 entries in one record; a pass between
    scans reads and deletes them in chunks the store looks up by id, and publishes them all."""
    async with outbox_world(service_settings, mongo_client, "bulk") as world:
        settings, runtime, store, collection = world
        relay = OutboxRelay(runtime.broker, [collection], poll_interval_s=0.1, batch_size=100)
        assert await relay.drain_once() == 0, "the first pass scans (an empty outbox)"
        people = [f"e-{n}" for n in range(1_200)]
        writes = [
            AggregateWrite(p, None, {}, [ProfileRegistered(employee_id=p, status="active", version=1)])
            for p in people
        ]
        assert await store.write_many(writes) == [True] * len(people)
        assert await store.commits.count_documents({}) == 1
        assert await relay.drain_once() == len(people)
        assert await store.outbox.count_documents({}) == 0
        assert await store.commits.count_documents({}) == 0
        records = await read_topic(
            settings.kafka_bootstrap_servers, settings.topic(topics.PROFILES), until=len(people)
        )
        assert sorted(r.key.decode() for r in records) == sorted(people)


async def test_a_batch_of_hundreds_of_updates_to_one_database_lands_in_one_bulk_write(
    mongo_client, service_settings
):
    """A consumer catching up on a backlog writes a few hundred aggregates in one bulk write.

    The store must take it whole: FerretDB 1.24 kept each update's query open until the command
    ended and deadlocked on its 100-connection SQLite pool (the local stack patches that).
    """
    collection = mongo_client[service_settings().database_name]["aggregates"]
    store = AggregateStore(collection, source="/tests")
    count = 250
    created = [AggregateWrite(f"e-{n}", None, {"n": 0}) for n in range(count)]
    assert await asyncio.wait_for(store.write_many(created), 60) == [True] * count
    current = await store.get_many([w.aggregate_id for w in created])
    snapshot = {"status": "active"}
    updates = [
        AggregateWrite(
            aggregate_id,
            document,
            {"n": 1},
            [ProfileRegistered(employee_id=aggregate_id, **snapshot, version=2)],
        )
        for aggregate_id, document in current.items()
    ]
    assert await asyncio.wait_for(store.write_many(updates), 60) == [True] * count
    stored = await store.get_many(list(current))
    assert {(d["n"], d["version"], d["outbox_seq"]) for d in stored.values()} == {(1, 2, 1)}
    assert await store.outbox.count_documents({}) == count


async def test_a_stale_snapshot_never_overwrites_a_newer_one(service_settings, mongo_client):
    collection = mongo_client[service_settings().database_name]["projection"]
    assert await upsert_if_newer(collection, "e-1", 2, {"name": "two"})
    assert not await upsert_if_newer(collection, "e-1", 1, {"name": "one"})
    assert not await upsert_if_newer(collection, "e-1", 2, {"name": "two again"})
    assert await upsert_if_newer(collection, "e-1", 3, {"name": "three"})
    assert (await collection.find_one({"_id": "e-1"}))["name"] == "three"


def _commands(collection: str, command: str | None = None) -> float:
    return sum(
        s.value
        for s in STORE_COMMANDS.collect()[0].samples
        if s.name.endswith("_total")
        and s.labels["collection"] == collection
        and command in (None, s.labels["command"])
    )


async def test_a_batch_of_snapshots_keeps_the_newest_of_each_in_three_commands(service_settings):
    from tandem_chassis.mongo import connect

    settings = service_settings(service="batch")
    client = connect(settings)  # the counting client services use
    collection = client[settings.database_name]["batch_projection"]
    try:
        await collection.insert_one({"_id": "e-1", "version": 5, "name": "five", "secret": "s"})
        before, before_inserts = _commands("batch_projection"), _commands("batch_projection", "insert")
        stored = await upsert_many_if_newer(
            collection,
            [
                Upsert("e-1", 4, {"name": "stale"}),
                Upsert("e-1", 6, {"name": "six"}, unset=("secret",)),
                Upsert("e-2", 1, {"name": "one"}),
                Upsert("e-2", 3, {"name": "three"}),
                Upsert("e-2", 2, {"name": "two"}),
            ],
        )
        assert _commands("batch_projection") - before == 3, "a read of versions, an insert, a bulk write"
        assert _commands("batch_projection", "insert") - before_inserts == 1, "e-2 is new: inserted"
        assert stored == {"e-1", "e-2"}
        documents = {d["_id"]: d async for d in collection.find({})}
        assert documents["e-1"] == {"_id": "e-1", "version": 6, "name": "six"}
        assert documents["e-2"] == {"_id": "e-2", "version": 3, "name": "three"}
        assert await upsert_many_if_newer(collection, [Upsert("e-2", 3, {"name": "again"})]) == set()

        before = _commands("batch_projection")
        updates = _commands("batch_projection", "update")
        new = [Upsert(f"n-{i}", 1, {"name": f"new {i}"}, unset=("secret",)) for i in range(50)]
        assert await upsert_many_if_newer(collection, new) == {u.key for u in new}
        assert _commands("batch_projection", "update") == updates, "new keys are inserted, not upserted"
        assert _commands("batch_projection") - before == 2, "a read of versions, one insert"
        assert await collection.find_one({"_id": "n-7"}) == {"_id": "n-7", "version": 1, "name": "new 7"}
    finally:
        await client.drop_database(settings.database_name)
        await client.close()


async def test_a_batch_that_races_another_writer_keeps_the_newer_of_each(service_settings, mongo_client):
    collection = mongo_client[service_settings().database_name]["raced"]

    class NewerLandsAfterTheRead:
        """The collection, with a concurrent writer storing e-2 version 9 and e-3 version 1 just
        after the first read (so the batch's inserts of both find them there)."""

        raced = False

        def find(self, *args, **kwargs):
            async def read():
                found = [d async for d in collection.find(*args, **kwargs)]
                if not self.raced:
                    self.raced = True
                    await collection.insert_many(
                        [
                            {"_id": "e-2", "version": 9, "name": "nine"},
                            {"_id": "e-3", "version": 1, "name": "one"},
                        ]
                    )
                for d in found:
                    yield d

            return read()

        def __getattr__(self, name):
            return getattr(collection, name)

    stored = await upsert_many_if_newer(
        NewerLandsAfterTheRead(),
        [
            Upsert("e-1", 1, {"name": "one"}),
            Upsert("e-2", 2, {"name": "two"}),
            Upsert("e-3", 2, {"name": "two"}),
        ],
    )
    assert stored == {"e-1", "e-3"}
    documents = {d["_id"]: (d["version"], d["name"]) async for d in collection.find({})}
    assert documents == {"e-1": (1, "one"), "e-2": (9, "nine"), "e-3": (2, "two")}


async def test_bad_events_are_dead_lettered_and_the_events_behind_them_are_processed(service_settings):
    settings = service_settings(service="consumer")
    runtime = ServiceRuntime(settings)
    handled: list[str] = []
    attempts: dict[str, int] = {}

    async def handler(event, data, delivery):
        attempts[data.employee_id] = attempts.get(data.employee_id, 0) + 1
        if data.employee_id == "flaky" and attempts["flaky"] < 2:
            raise RuntimeError("transient hiccup")
        if data.employee_id == "refused":
            raise PermanentError("refused by the domain")
        if data.employee_id == "broken":
            raise RuntimeError("always fails")
        handled.append(data.employee_id)

    runtime.subscribe(topics.HR_EMPLOYEES, handler)
    from tandem_chassis.kafka import ensure_topics

    await ensure_topics(settings=settings)
    topic = settings.topic(topics.HR_EMPLOYEES)
    good = as_record(new_event(_joined("e-1"), source="/t"))
    not_json = (b"e-x", b"{nope", good[2])
    invalid = (b"e-y", b'{"employee_id": "e-y"}', good[2])
    unknown = (b"e-z", good[1], [(k, b"hr.employee.promoted" if k == "ce_type" else v) for k, v in good[2]])
    no_headers = (b"e-w", good[1], [])
    await publish_raw(
        settings.kafka_bootstrap_servers,
        topic,
        [
            not_json,
            invalid,
            unknown,
            no_headers,
            as_record(new_event(_joined("flaky"), source="/t")),
            as_record(new_event(_joined("refused"), source="/t")),
            as_record(new_event(_joined("broken"), source="/t")),
            good,
            as_record(new_event(EmployeeLeft(employee_id="e-1"), source="/t")),
        ],
    )
    await runtime.broker.start()
    try:

        async def all_handled() -> bool:
            return {"e-1", "flaky"} <= set(handled) and handled.count("e-1") == 2

        await eventually(all_handled, "the good events handled", timeout_s=30)
        dead = await read_topic(settings.kafka_bootstrap_servers, topics.dlq(topic), until=6)
    finally:
        await runtime.broker.stop()
    reasons = {record.key: dict(record.headers) for record in dead}
    assert set(reasons) == {b"e-x", b"e-y", b"e-z", b"e-w", b"refused", b"broken"}
    assert reasons[b"e-x"]["dlq-error-type"] == b"MalformedEventError"
    assert b"not JSON" in reasons[b"e-x"]["dlq-error-message"]
    assert reasons[b"e-y"]["dlq-error-type"] == b"ValidationError"
    assert reasons[b"e-z"]["dlq-error-type"] == b"UnknownEventTypeError"
    assert reasons[b"refused"]["dlq-error-type"] == b"PermanentError"
    assert reasons[b"broken"]["dlq-error-message"] == b"always fails"
    assert attempts["broken"] == settings.consumer_max_attempts
    assert attempts["refused"] == 1
    for headers in reasons.values():
        assert headers["dlq-original-topic"] == topic.encode()
        assert headers["dlq-consumer-group"] == settings.group("tandem-consumer").encode()
        assert int(headers["dlq-original-offset"]) >= 0
        assert "dlq-failed-at" in headers and "dlq-original-partition" in headers
    dead_values = {record.key: record.value for record in dead}
    assert dead_values[b"e-x"] == b"{nope", "the dead letter keeps the original value"


async def test_events_of_a_write_that_crashed_before_flagging_them_are_still_published(
    service_settings, mongo_client
):
    from datetime import UTC, datetime, timedelta

    from tandem_chassis.kafka import ensure_topics

    settings = service_settings(service="crash")
    runtime = ServiceRuntime(settings)
    collection = mongo_client[settings.database_name]["aggregates"]
    store = AggregateStore(collection, source="/tests", topic_prefix=settings.kafka_topic_prefix)
    await ensure_topics(settings=settings)
    await runtime.broker.start()
    try:
        assert await store.create(
            "e-1", {}, [ProfileRegistered(employee_id="e-1", status="active", version=1)]
        )
        # as if the process died between the aggregate's write and flagging its outbox entry:
        long_ago = datetime.now(UTC) - timedelta(seconds=30)
        await store.outbox.update_many({}, {"$set": {"created_at": long_ago}})
        await store.commits.delete_many({})
        relay = OutboxRelay(runtime.broker, [collection], poll_interval_s=0.1)

        assert await relay.drain_once() == 1
        records = await read_topic(settings.kafka_bootstrap_servers, settings.topic(topics.PROFILES), until=1)
        assert json.loads(records[0].value)["employee_id"] == "e-1"
    finally:
        await runtime.broker.stop()


async def test_a_relay_reads_the_outbox_seq_of_many_unflagged_aggregates_in_one_command(service_settings):
    """Entries whose commit record is missing past the grace make the relay read their aggregates'
    ``outbox_seq``: one ``_id $in`` read for the batch, not one ``find_one`` per aggregate."""
    from datetime import UTC, datetime, timedelta

    from tandem_chassis.kafka import ensure_topics
    from tandem_chassis.mongo import connect

    settings = service_settings(service="unflagged")
    runtime = ServiceRuntime(settings)
    client = connect(settings)  # the counting client services use
    collection = client[settings.database_name]["unflagged"]
    store = AggregateStore(collection, source="/tests", topic_prefix=settings.kafka_topic_prefix)
    await ensure_topics(settings=settings)
    await runtime.broker.start()
    people = [f"e-{n}" for n in range(5)]
    try:
        for person in people:
            assert await store.create(
                person, {}, [ProfileRegistered(employee_id=person, status="active", version=1)]
            )
        long_ago = datetime.now(UTC) - timedelta(seconds=30)
        await store.outbox.update_many({}, {"$set": {"created_at": long_ago}})
        await store.commits.delete_many({})  # as if each write died before its commit record
        relay = OutboxRelay(runtime.broker, [collection], poll_interval_s=0.1)
        before = _commands("unflagged")

        assert await relay.drain_once() == len(people)
        assert _commands("unflagged") - before == 1, "one read of the aggregates for the batch"
        records = await read_topic(
            settings.kafka_bootstrap_servers, settings.topic(topics.PROFILES), until=len(people)
        )
        assert sorted(json.loads(r.value)["employee_id"] for r in records) == people
    finally:
        await runtime.broker.stop()
        await client.drop_database(settings.database_name)
        await client.close()


async def test_a_poison_event_in_a_batch_is_dead_lettered_and_the_rest_of_the_batch_is_handled(
    service_settings,
):
    from tandem_chassis.kafka import ensure_topics

    settings = service_settings(service="batch")
    runtime = ServiceRuntime(settings)
    batches: list[int] = []
    handled: list[str] = []

    async def one(event, data, delivery):
        if data.employee_id == "poison":
            raise RuntimeError("cannot handle this one")
        handled.append(data.employee_id)

    async def many(items):
        batches.append(len(items))
        if any(data.employee_id == "poison" for _, data, _ in items):
            raise RuntimeError("cannot handle this one")
        handled.extend(data.employee_id for _, data, _ in items)

    runtime.subscribe(topics.HR_EMPLOYEES, one, batch_handler=many)
    await ensure_topics(settings=settings, partitions=1)
    topic = settings.topic(topics.HR_EMPLOYEES)
    names = [f"e-{n}" for n in range(20)]
    names.insert(7, "poison")
    await publish_raw(
        settings.kafka_bootstrap_servers,
        topic,
        [as_record(new_event(_joined(n), source="/t")) for n in names],
    )
    await runtime.broker.start()
    try:

        async def all_handled() -> bool:
            return len(set(handled)) == 20

        await eventually(all_handled, "every event but the poison one handled", timeout_s=30)
        dead = await read_topic(settings.kafka_bootstrap_servers, topics.dlq(topic), until=1)
    finally:
        await runtime.broker.stop()
    assert [record.key for record in dead] == [b"poison"]
    assert max(batches) > 1, "events were handed over in batches"
    assert "poison" not in handled


async def test_a_relay_lease_is_renewed_only_when_half_spent_and_held_by_one_relay(service_settings):
    from datetime import timedelta

    from tandem_chassis.mongo import connect
    from tandem_chassis.outbox.lease import RelayLease

    settings = service_settings(service="lease")
    client = connect(settings)
    collection = client[settings.database_name]["leased"]
    try:
        first = RelayLease(collection, holder="a", duration=timedelta(seconds=1))
        second = RelayLease(collection, holder="b", duration=timedelta(seconds=1))
        assert await first.hold()
        before = _commands("leased_relay")
        assert all([await first.hold() for _ in range(20)])
        assert _commands("leased_relay") == before, "a fresh lease is held without a store command"
        assert not await second.hold()
        await asyncio.sleep(0.6)  # past half of it: the next pass renews
        assert await first.hold()
        assert _commands("leased_relay") == before + 3  # second's failed take (2), first's renewal
        await asyncio.sleep(0.6)
        assert not await second.hold(), "renewed in time: still the first relay's"
        await first.release()
        assert await second.hold()
    finally:
        await client.drop_database(settings.database_name)
        await client.close()
