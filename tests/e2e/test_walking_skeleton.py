"""An HR event travels through all three services on the real broker and store."""

import asyncio

import httpx
import pytest
from tandem_chassis.testing import as_record, eventually, publish_raw, read_topic
from tandem_contracts import EmployeeJoined, new_event, topics

pytestmark = pytest.mark.e2e


async def test_a_joined_employee_reaches_every_service_once_and_bad_events_are_dead_lettered(
    platform, mongo_client
):
    joined = EmployeeJoined(
        employee_id="e-100",
        email="grace@example.com",
        display_name="Grace Hopper",
        department="Engineering",
        level=5,
        timezone="Europe/Berlin",
        languages=["en", "de"],
    )
    after = EmployeeJoined(employee_id="e-101", email="alan@example.com", display_name="Alan Turing")
    first = as_record(new_event(joined, source="/hr/test"))
    malformed = (b"e-100", b'{"employee_id": "e-100", "email": 42', first[2])
    await publish_raw(
        platform.bootstrap,
        platform.topic(topics.HR_EMPLOYEES),
        [
            first,
            first,
            malformed,
            as_record(new_event(after, source="/hr/test")),
        ],
    )

    profiles = mongo_client[platform.database("profiles")]["profiles"]
    matching = mongo_client[platform.database("matching")]["profiles"]
    recipients = mongo_client[platform.database("notifications")]["recipients"]

    async def everywhere():
        found = [
            await c.count_documents({"_id": {"$in": ["e-100", "e-101"]}})
            for c in (profiles, matching, recipients)
        ]
        return found == [2, 2, 2]

    await eventually(everywhere, "the employee in every service")
    stored = await profiles.find_one({"_id": "e-100"})
    assert stored["status"] == "active" and stored["hr"]["email"] == "grace@example.com"
    assert (await matching.find_one({"_id": "e-100"}))["department"] == "Engineering"
    assert (await recipients.find_one({"_id": "e-100"}))["email"] == "grace@example.com"

    published = await read_topic(platform.bootstrap, platform.topic(topics.PROFILES), until=2)
    await asyncio.sleep(1.0)
    published = await read_topic(platform.bootstrap, platform.topic(topics.PROFILES), until=2)
    assert sorted(r.key for r in published) == [b"e-100", b"e-101"], "the duplicate published nothing"
    assert {dict(r.headers)["ce_type"] for r in published} == {b"profile.registered"}

    dead = await read_topic(platform.bootstrap, platform.topic(topics.dlq(topics.HR_EMPLOYEES)), until=1)
    assert len(dead) == 1
    assert dict(dead[0].headers)["dlq-error-type"] == b"MalformedEventError"

    async with httpx.AsyncClient() as client:
        for service in platform.services.values():
            ready = await client.get(f"{service.url}/health/ready")
            assert ready.status_code == 200, ready.text
            metrics = await client.get(f"{service.url}/metrics")
            assert "tandem_events_consumed_total" in metrics.text
