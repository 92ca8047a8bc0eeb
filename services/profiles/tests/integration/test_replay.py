"""Replaying a shuffled, duplicated HR feed from the beginning rebuilds the same profiles."""

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest
from tandem_chassis.kafka import ensure_topics
from tandem_chassis.testing import as_record, publish_raw
from tandem_contracts import EmployeeJoined, EmployeeLeft, EmployeeUpdated, new_event, parse_data, topics
from tandem_profiles.config import Settings
from tandem_profiles.domain.profile import apply_hr_event

from ..conftest import running_profiles

pytestmark = pytest.mark.integration
T0 = datetime(2026, 1, 1, tzinfo=UTC)
DEPARTMENTS = ["R&D", "Sales", "Ops", "Finance", "People"]


def messy_feed(rng: random.Random, *, events: int = 1000, employees: int = 150):
    """A realistic feed: joins, updates, leaves and re-hires, then shuffled and partly duplicated."""
    feed = []
    for n in range(events):
        employee_id = f"emp-{rng.randrange(employees):04d}"
        time = T0 + timedelta(minutes=n)
        roll = rng.random()
        if roll < 0.35:
            data = EmployeeJoined(
                employee_id=employee_id,
                email=f"{employee_id}@example.com",
                display_name=employee_id,
                department=rng.choice(DEPARTMENTS),
                level=rng.randint(1, 8),
                manager_id=f"emp-{rng.randrange(employees):04d}",
                timezone=rng.choice(["Europe/Paris", "America/New_York", "Asia/Tokyo"]),
            )
        elif roll < 0.85:
            data = EmployeeUpdated.model_validate(
                {"employee_id": employee_id}
                | rng.choice(
                    [
                        {"department": rng.choice(DEPARTMENTS)},
                        {"level": rng.randint(1, 8)},
                        {"job_title": f"title-{n}"},
                        {"location": None},
                    ]
                )
            )
        else:
            data = EmployeeLeft(employee_id=employee_id)
        feed.append(new_event(data, source="/hr/replay", time=time, event_id=f"ev-{n:05d}"))
    shuffled = feed + rng.sample(feed, len(feed) // 5)
    rng.shuffle(shuffled)
    return shuffled


def expected_profiles(feed) -> dict[str, dict]:
    """The pure domain's answer, folding the events in their original order."""
    profiles = {}
    for event in sorted({e.id: e for e in feed}.values(), key=lambda e: e.time):
        data = parse_data(event)
        profiles[data.employee_id] = apply_hr_event(
            profiles.get(data.employee_id), data, time=event.time, event_id=event.id
        ).profile
    return {
        eid: {"status": p.status, "hr": {k: v for k, v in p.hr.to_json().items() if v is not None}}
        for eid, p in profiles.items()
        if p.known
    }


async def stored_profiles(running) -> dict[str, dict]:
    cursor = running.collection.find({"known": True}, {"status": 1, "hr": 1})
    return {doc["_id"]: {"status": doc["status"], "hr": doc["hr"]} async for doc in cursor}


async def rebuilt(settings: Settings, expected: dict, timeout_s: float = 180.0) -> dict:
    async with running_profiles(settings) as running:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while (current := await stored_profiles(running)) != expected:
            assert asyncio.get_running_loop().time() < deadline, (
                f"{len(current)} of {len(expected)} profiles converged"
            )
            await asyncio.sleep(0.5)
        return current


async def test_a_shuffled_duplicated_feed_replayed_twice_gives_the_same_profiles(service_settings):
    rng = random.Random(20261125)
    feed = messy_feed(rng)
    expected = expected_profiles(feed)
    first_settings = service_settings(Settings, "profiles")
    await ensure_topics(settings=first_settings)
    await publish_raw(
        first_settings.kafka_bootstrap_servers,
        first_settings.topic(topics.HR_EMPLOYEES),
        [as_record(event) for event in feed],
    )

    first = await rebuilt(first_settings, expected)
    second_settings = first_settings.model_copy(
        update={
            "kafka_group_prefix": first_settings.kafka_group_prefix + "replay.",
            "mongodb_database": first_settings.database_name + "_replay",
        }
    )
    second = await rebuilt(second_settings, expected)

    assert first == second == expected
    assert len(expected) > 100 and any(p["status"] == "inactive" for p in expected.values())
