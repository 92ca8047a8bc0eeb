"""``tandem.relationships`` on the real broker and store: a poor fit ends and re-proposes once,
an auto-close ends ``inactive``; a program's auto-close reaches ``program.created``."""

from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from tandem_chassis.testing import as_record, publish_raw, read_topic
from tandem_contracts import (
    RelationshipAutoClosed,
    RelationshipFitDeclined,
    RelationshipHealthChanged,
    new_event,
    topics,
)

pytestmark = pytest.mark.integration
AT = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)


async def consumed_all(matching, topic: str) -> bool:
    """Whether matching's consumer group has committed every record now on `topic`."""
    bootstrap, name = matching.settings.kafka_bootstrap_servers, matching.settings.topic(topic)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await reader.start()
    await admin.start()
    try:
        (described,) = await admin.describe_topics([name])
        partitions = [TopicPartition(name, p["partition"]) for p in described["partitions"]]
        end = await reader.end_offsets(partitions)
        group = matching.settings.group("tandem-matching")
        committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
    finally:
        await reader.stop()
        await admin.close()

    def done(tp: TopicPartition) -> bool:
        mark = committed.get(tp)
        return end[tp] == 0 or (mark is not None and mark.offset >= end[tp])

    assert partitions and all(done(tp) for tp in partitions), f"end {end}, committed {committed}"
    return True


def ended_events(published) -> set[tuple[str, str]]:
    return {(data["mentorship_id"], data["reason"]) for kind, data in published if kind == "mentorship.ended"}


async def publish(matching, *records) -> None:
    await publish_raw(
        matching.settings.kafka_bootstrap_servers,
        matching.settings.topic(topics.RELATIONSHIPS),
        list(records),
    )


async def accepted(matching, mentee: str, mentor: str) -> str:
    created = await matching.client.post(
        "/v1/mentorships", json={"mentee_id": mentee, "mentor_id": mentor}, headers=matching.auth(mentee)
    )
    assert created.status_code == 201, created.text
    mentorship_id = created.json()["mentorship_id"]
    answered = await matching.client.post(
        f"/v1/mentorships/{mentorship_id}/accept", headers=matching.auth(mentor)
    )
    assert answered.status_code == 200, answered.text
    return mentorship_id


async def test_a_poor_fit_ends_and_reproposes_once_and_an_auto_close_ends_inactive(matching, make):
    await matching.feed(
        make.mentor("m1", skills=[{"name": "python", "level": 5}]),
        make.mentor("m2", skills=[{"name": "python", "level": 3}]),
        make.mentor("m3"),  # so a second re-proposal, were there one, would find a mentor
        make.mentee("e1"),
        make.mentee("e2"),
    )
    await matching.projected(dict.fromkeys(["m1", "m2", "m3", "e1", "e2"], 1))
    first, second = await accepted(matching, "e1", "m1"), await accepted(matching, "e2", "m1")
    pair = {"mentor_id": "m1", "mentee_id": "e1", "mentorship_id": first}
    declined = new_event(
        RelationshipFitDeclined(**pair, declined_by="e1", request_id="fit-1", declined_at=AT),
        source="tandem-relationships",
    )

    await publish(matching, as_record(declined))

    async def reproposed():
        return await matching.db("mentorships").find_one({"_id": f"{first}.r"})

    new = await make.eventually(reproposed, "the re-proposal")
    assert (new["status"], new["origin"], new["mentee_id"]) == ("proposed", "reproposal", "e1")
    assert new["mentor_id"] in {"m2", "m3"}, "another mentor"
    assert new["replaces_mentorship_id"] == first
    ended = await matching.db("mentorships").find_one({"_id": first})
    assert (ended["status"], ended["reason"]) == ("ended", "not_a_fit")
    published = await matching.events(topics.MENTORSHIPS, 6)  # 2 proposed, 2 accepted, ended, proposed
    assert ended_events(published) == {(first, "not_a_fit")}
    assert {data["mentorship_id"] for kind, data in published if kind == "mentorship.proposed"} == {
        first,
        second,
        f"{first}.r",
    }
    assert (await matching.db("mentor_load").find_one({"_id": "m1"}))["active"] == 1

    before = await matching.db("mentorships").find({}, {"_id": 1, "version": 1}).to_list()
    health = RelationshipHealthChanged(**pair, health="at_risk", previous="healthy", changed_at=AT)
    await publish(matching, as_record(declined), as_record(new_event(health, source="tandem-relationships")))
    await make.eventually(lambda: consumed_all(matching, topics.RELATIONSHIPS), "the redelivery consumed")
    after = await matching.db("mentorships").find({}, {"_id": 1, "version": 1}).to_list()
    assert sorted(after, key=lambda d: d["_id"]) == sorted(before, key=lambda d: d["_id"]), "nothing more"

    closed = RelationshipAutoClosed(
        mentorship_id=second,
        mentor_id="m1",
        mentee_id="e2",
        inactive_days=30,
        last_activity_at=AT,
        closed_at=AT,
    )
    await publish(matching, as_record(new_event(closed, source="tandem-relationships")))

    async def closed_inactive() -> bool:
        found = await matching.db("mentorships").find_one({"_id": second})
        return (found["status"], found["reason"]) == ("ended", "inactive")

    await make.eventually(closed_inactive, "ended inactive")
    published = await matching.events(topics.MENTORSHIPS, 7)
    assert len(published) == 7, "the redelivery published nothing"
    assert ended_events(published) == {(first, "not_a_fit"), (second, "inactive")}
    assert await matching.db("mentorships").find_one({"_id": f"{second}.r"}) is None, "no re-proposal"
    assert (await matching.db("mentor_load").find_one({"_id": "m1"}))["active"] == 0


async def test_an_event_whose_pair_is_not_the_mentorships_goes_to_the_dead_letter_topic(matching, make):
    await matching.feed(make.mentor("m1"), make.mentee("e1"))
    await matching.projected({"m1": 1, "e1": 1})
    mentorship_id = await accepted(matching, "e1", "m1")
    wrong = RelationshipFitDeclined(
        mentorship_id=mentorship_id,
        mentor_id="someone-else",
        mentee_id="e1",
        declined_by="e1",
        request_id="fit-1",
        declined_at=AT,
    )

    await publish(matching, as_record(new_event(wrong, source="tandem-relationships")))

    (dead,) = await read_topic(
        matching.settings.kafka_bootstrap_servers,
        topics.dlq(matching.settings.topic(topics.RELATIONSHIPS)),
        until=1,
    )
    assert dict(dead.headers)["dlq-error-type"] == b"PermanentError"
    found = await matching.db("mentorships").find_one({"_id": mentorship_id})
    assert found["status"] == "accepted", "nothing changed"


async def test_a_program_publishes_its_mentorship_length_and_auto_close_in_program_created(matching):
    client, admin = matching.client, matching.admin()
    spec = {"name": "Autumn", "mentorship_length_days": 90, "auto_close_inactive_days": 45}
    for bad in (0, 3651):
        refused = await client.post(
            "/v1/programs", json=spec | {"auto_close_inactive_days": bad}, headers=admin
        )
        assert refused.status_code == 422

    created = await client.post("/v1/programs", json=spec, headers=admin)
    assert created.status_code == 201, created.text
    program = created.json()
    assert program["auto_close_inactive_days"] == 45
    read = await client.get(f"/v1/programs/{program['program_id']}", headers=admin)
    assert read.json()["auto_close_inactive_days"] == 45, "stored and read back"
    plain = (await client.post("/v1/programs", json={"name": "Plain"}, headers=admin)).json()
    assert plain["auto_close_inactive_days"] is None

    events = {data["program_id"]: data for kind, data in await matching.events(topics.PROGRAMS, 2)}
    assert (
        events[program["program_id"]]["mentorship_length_days"],
        events[program["program_id"]]["auto_close_inactive_days"],
    ) == (90, 45)
    assert (
        events[plain["program_id"]]["mentorship_length_days"],
        events[plain["program_id"]]["auto_close_inactive_days"],
    ) == (180, None)
