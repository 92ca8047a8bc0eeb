"""Messy HR feeds converge on the real broker and store, and publish exactly the right events."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from tandem_chassis.testing import as_record, publish_raw, read_topic
from tandem_contracts import EmployeeJoined, EmployeeLeft, EmployeeUpdated, new_event, topics

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def event(data, minute: int, event_id: str | None = None):
    return new_event(data, source="/hr/test", time=T0 + timedelta(minutes=minute), event_id=event_id)


def joined(employee_id: str, **fields):
    return EmployeeJoined(
        employee_id=employee_id,
        email=f"{employee_id}@example.com",
        display_name=employee_id.upper(),
        **fields,
    )


async def feed(profiles, *records) -> None:
    settings = profiles.settings
    await publish_raw(settings.kafka_bootstrap_servers, settings.topic(topics.HR_EMPLOYEES), list(records))


async def settled(profiles, expected_events: int, timeout_s: float = 45.0):
    """Wait until the profile topic holds ``expected_events`` and nothing more arrives."""
    settings = profiles.settings
    records = await read_topic(
        settings.kafka_bootstrap_servers,
        settings.topic(topics.PROFILES),
        until=expected_events,
        timeout_s=timeout_s,
    )
    await asyncio.sleep(1.0)
    again = await read_topic(
        settings.kafka_bootstrap_servers,
        settings.topic(topics.PROFILES),
        until=expected_events,
        timeout_s=timeout_s,
    )
    assert len(again) == len(records) == expected_events, [r.value for r in again]
    return [
        (dict(r.headers)["ce_type"].decode(), json.loads(r.value))
        for r in sorted(again, key=lambda r: (r.key, json.loads(r.value)["version"]))
    ]


async def stored(profiles, employee_id: str):
    loaded = await profiles.repository.load(employee_id)
    return loaded.profile if loaded else None


async def test_duplicates_and_unknown_fields_store_one_profile_and_publish_once(profiles):
    first = as_record(event(joined("e-1", department="R&D"), 0))
    extra = json.loads(first[1]) | {"shoe_size": 44}
    await feed(profiles, first, first, (first[0], json.dumps(extra).encode(), first[2]))

    published = await settled(profiles, 1)

    assert [kind for kind, _ in published] == ["profile.registered"]
    assert published[0][1]["version"] == 1 and published[0][1]["department"] == "R&D"
    assert (await stored(profiles, "e-1")).status == "active"


async def test_updated_and_left_before_joined_converge(profiles):
    await feed(
        profiles,
        as_record(event(EmployeeUpdated(employee_id="e-2", job_title="Staff Engineer"), 5)),
        as_record(event(joined("e-2", job_title="Engineer", manager_id="m-not-yet"), 0)),
        as_record(event(EmployeeLeft(employee_id="e-3"), 9)),
        as_record(event(joined("e-3"), 1)),
    )

    published = await settled(profiles, 1)

    assert published == [("profile.registered", published[0][1])]
    assert published[0][1]["employee_id"] == "e-2"
    assert published[0][1]["job_title"] == "Staff Engineer", "the later update wins"
    assert published[0][1]["manager_id"] == "m-not-yet", "an unknown manager is kept as given"
    assert (await stored(profiles, "e-3")).status == "inactive", "a leaver is not resurrected"


async def test_leaving_deactivates_and_a_rehire_reactivates_with_increasing_versions(profiles):
    await feed(
        profiles,
        as_record(event(joined("e-4"), 0)),
        as_record(event(EmployeeUpdated(employee_id="e-4", level=3), 1)),
        as_record(event(EmployeeLeft(employee_id="e-4", last_day="2026-03-31"), 2)),
        as_record(event(joined("e-4", level=4), 3)),
    )

    published = await settled(profiles, 4)

    assert [kind for kind, _ in published] == [
        "profile.registered",
        "profile.updated",
        "profile.deactivated",
        "profile.registered",
    ]
    assert [data["version"] for _, data in published] == [1, 2, 3, 4]
    assert [data["status"] for _, data in published] == ["active", "active", "inactive", "active"]
    assert published[-1][1]["level"] == 4


async def test_self_service_edits_are_validated_normalised_and_published(profiles):
    await feed(profiles, as_record(event(joined("e-5", department="R&D"), 0)))
    await settled(profiles, 1)
    me = profiles.token("e-5", "employee")

    response = await profiles.client.patch(
        "/v1/profiles/e-5",
        headers=me,
        json={
            "roles": ["mentor", "mentee"],
            "skills": [
                {"name": "Python", "level": 4},
                {"name": "py", "level": 5},
                {"name": " Kafka ", "level": 3},
            ],
            "goals": [{"name": "K8s", "level": 3}],
            "mentor_capacity": 3,
            "preferences": {"department": "other"},
        },
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["skills"] == [{"name": "python", "level": 5}, {"name": "kafka", "level": 3}]
    assert body["goals"] == [{"name": "kubernetes", "level": 3}]
    assert body["version"] == 2
    published = await settled(profiles, 2)
    assert published[-1][0] == "profile.updated" and published[-1][1]["mentor_capacity"] == 3

    for bad in (
        {"mentor_capacity": 11},
        {"roles": ["boss"]},
        {"skills": [{"name": "x", "level": 9}]},
        {"unknown": 1},
    ):
        refused = await profiles.client.patch("/v1/profiles/e-5", headers=me, json=bad)
        assert refused.status_code == 422, bad
        assert refused.json()["detail"], "a reason is given"
    other = await profiles.client.patch(
        "/v1/profiles/e-5", headers=profiles.token("e-6", "employee"), json={"bio": "x"}
    )
    assert other.status_code == 403
    assert (await profiles.client.get("/v1/profiles/e-5")).status_code == 401


async def test_changes_to_an_inactive_profile_are_refused(profiles):
    await feed(
        profiles, as_record(event(joined("e-7"), 0)), as_record(event(EmployeeLeft(employee_id="e-7"), 1))
    )
    await settled(profiles, 2)

    response = await profiles.client.patch(
        "/v1/profiles/e-7", headers=profiles.token("e-7", "employee"), json={"bio": "hello"}
    )

    assert response.status_code == 409
    assert "inactive" in response.json()["detail"]


async def test_listing_filters_and_paginates_in_a_stable_order(profiles):
    await feed(
        profiles,
        *[as_record(event(joined(f"p-{n:02d}", department="R&D" if n % 2 else "Ops"), n)) for n in range(12)],
    )
    await settled(profiles, 12)
    for n in range(0, 12, 3):
        me = profiles.token(f"p-{n:02d}", "employee")
        await profiles.client.patch(
            f"/v1/profiles/p-{n:02d}", headers=me, json={"roles": ["mentor"], "skills": [{"name": "Python"}]}
        )
    admin = profiles.token("admin", "program_admin")

    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await profiles.client.get("/v1/profiles", headers=admin, params=params)).json()
        seen += [item["employee_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"p-{n:02d}" for n in range(12)]

    mentors = (
        await profiles.client.get("/v1/profiles", headers=admin, params={"role": "mentor", "skill": "py"})
    ).json()
    assert [item["employee_id"] for item in mentors["items"]] == ["p-00", "p-03", "p-06", "p-09"]
    ops = (
        await profiles.client.get(
            "/v1/profiles", headers=admin, params={"department": "Ops", "status": "active"}
        )
    ).json()
    assert len(ops["items"]) == 6
    employee = await profiles.client.get("/v1/profiles", headers=profiles.token("p-00", "employee"))
    assert employee.status_code == 403


async def test_leavers_are_erased_after_retention_and_on_request(profiles, service_settings):
    from tandem_profiles.service_layer.profiles import erase_due_profiles

    await feed(
        profiles,
        as_record(event(joined("e-8"), 0)),
        as_record(event(EmployeeLeft(employee_id="e-8"), 1)),
        as_record(event(joined("e-9"), 0)),
    )
    await settled(profiles, 3)
    assert await erase_due_profiles(uow=profiles.uow, now=T0 + timedelta(days=29)) == 0
    assert await erase_due_profiles(uow=profiles.uow, now=T0 + timedelta(days=31)) == 1

    hr = profiles.token("hr-bot", "hr_integration")
    assert (
        await profiles.client.delete("/v1/profiles/e-9", headers=profiles.token("e-9", "employee"))
    ).status_code == 403
    assert (await profiles.client.delete("/v1/profiles/e-9", headers=hr)).status_code == 204

    published = await settled(profiles, 5)
    erased = [data for kind, data in published if kind == "profile.erased"]
    assert erased == [
        {"employee_id": "e-8", "version": 3, "status": "erased"}
        | {k: v for k, v in erased[0].items() if k not in ("employee_id", "version", "status")},
        {"employee_id": "e-9", "version": 2, "status": "erased"}
        | {k: v for k, v in erased[1].items() if k not in ("employee_id", "version", "status")},
    ]
    for data in erased:
        assert data["email"] is None and data["display_name"] is None and data["bio"] is None
    document = await profiles.collection.find_one({"_id": "e-8"})
    assert document["hr"] == {} and document["mentoring"]["bio"] is None
    view = (await profiles.client.get("/v1/profiles/e-8", headers=hr)).json()
    assert view["status"] == "erased" and view["email"] is None


async def test_colleagues_names_are_readable_by_any_employee_and_the_erased_stay_nameless(profiles):
    await feed(profiles, *[as_record(event(joined(f"n-{n}"), n)) for n in range(3)])
    await settled(profiles, 3)
    hr = profiles.token("hr", "hr_integration")
    assert (await profiles.client.delete("/v1/profiles/n-2", headers=hr)).status_code == 204

    answer = await profiles.client.get(
        "/v1/names",
        headers=profiles.token("n-0", "employee"),
        params=[("id", "n-0"), ("id", "n-1"), ("id", "n-2"), ("id", "nobody")],
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"names": {"n-0": "N-0", "n-1": "N-1"}}
    too_many = [("id", f"x-{n}") for n in range(201)]
    refused = await profiles.client.get("/v1/names", headers=hr, params=too_many)
    assert refused.status_code == 422
    assert (await profiles.client.get("/v1/names", params=[("id", "n-0")])).status_code == 401
