"""SCIM 2.0 (RFC 7643/7644 examples) against the real app on the real broker and store."""

import asyncio
import json

import pytest
from tandem_chassis.auth import mint_dev_token
from tandem_chassis.testing import publish_event, read_topic
from tandem_contracts import EmployeeJoined, topics
from tandem_profiles.config import Settings
from tandem_profiles.domain.scim import (
    ENTERPRISE_SCHEMA,
    ERROR_SCHEMA,
    GROUP_SCHEMA,
    LIST_SCHEMA,
    PATCH_SCHEMA,
    USER_SCHEMA,
)
from tandem_profiles.entrypoints.deps import unit_of_work_of

pytestmark = pytest.mark.integration

SCIM = "application/scim+json"
# RFC 7643 §8.2/§8.3 (userName as there: an email address), trimmed to what Tandem keeps.
BJENSEN = {
    "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
    "externalId": "701984",
    "userName": "bjensen@example.com",
    "name": {
        "formatted": "Ms. Barbara J Jensen, III",
        "familyName": "Jensen",
        "givenName": "Barbara",
    },
    "displayName": "Babs Jensen",
    "title": "Tour Guide",
    "preferredLanguage": "en-US",
    "timezone": "America/Los_Angeles",
    "active": True,
    "addresses": [{"type": "work", "locality": "Hollywood", "primary": True}],
    ENTERPRISE_SCHEMA: {"department": "Tour Operations", "manager": {"value": "26118915"}},
}
JOINED = EmployeeJoined(  # the hr.employees event that means the same as BJENSEN
    employee_id="701984",
    email="bjensen@example.com",
    display_name="Babs Jensen",
    job_title="Tour Guide",
    languages=["en"],
    timezone="America/Los_Angeles",
    location="Hollywood",
    department="Tour Operations",
    manager_id="26118915",
)


def _patch(*operations):
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


def _assert_error(response, status: int, scim_type: str | None = None):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(SCIM)
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert body["detail"]


async def _eventually(check, timeout_s: float = 30.0):
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not (result := await check()):
        assert asyncio.get_running_loop().time() < deadline, "not reached in time"
        await asyncio.sleep(0.2)
    return result


async def test_creating_a_user_returns_201_with_the_resource_its_location_and_version(scim):
    # RFC 7644 §3.3
    created = await scim.post("/Users", json=BJENSEN)
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith(SCIM)
    user = created.json()
    assert user["id"] == user["externalId"] == "701984"
    assert user["userName"] == "bjensen@example.com"
    assert (user["displayName"], user["title"], user["active"]) == (
        "Babs Jensen",
        "Tour Guide",
        True,
    )
    assert user[ENTERPRISE_SCHEMA] == {
        "department": "Tour Operations",
        "manager": {"value": "26118915"},
    }
    meta = user["meta"]
    assert meta["resourceType"] == "User"
    assert meta["location"] == "https://example.com/scim/v2/Users/701984"
    assert created.headers["Location"] == meta["location"]
    assert meta["version"] == created.headers["ETag"] == 'W/"1"'
    assert meta["created"] and meta["lastModified"]


async def test_a_user_created_without_external_id_gets_a_generated_id(scim):
    created = await scim.post("/Users", json={"schemas": [USER_SCHEMA], "userName": "x@example.com"})
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["id"] and "externalId" not in user, "the id is generated; no externalId was sent"
    assert "displayName" not in user, "a display name that only repeats userName is not shown"
    stored = (await unit_of_work_of(scim.app).profiles.load(user["id"])).profile
    assert stored.hr.display_name == "x@example.com"
    assert (await scim.get(f"/Users/{user['id']}")).json()["userName"] == "x@example.com"


async def test_creating_a_user_whose_user_name_or_id_is_taken_is_refused_with_409_uniqueness(scim):
    # RFC 7644 §3.3: "If the service provider determines that the creation of the requested
    # resource conflicts with existing resources (e.g., a "User" resource with a duplicate
    # "userName"), the service provider MUST return HTTP status code 409"
    assert (await scim.post("/Users", json=BJENSEN)).status_code == 201
    _assert_error(await scim.post("/Users", json=BJENSEN), 409, "uniqueness")
    same_name = BJENSEN | {"externalId": "other", "userName": "BJensen@Example.com"}
    _assert_error(await scim.post("/Users", json=same_name), 409, "uniqueness")


async def test_retrieving_a_known_user_returns_it_and_an_unknown_one_a_scim_404(scim):
    # RFC 7644 §3.4.1 and the §3.12 error example
    await scim.post("/Users", json=BJENSEN)
    fetched = await scim.get("/Users/701984")
    assert fetched.status_code == 200
    assert fetched.json()["userName"] == "bjensen@example.com"
    assert fetched.headers["ETag"] == 'W/"1"'
    _assert_error(await scim.get("/Users/2819c223-7f76-453a-919d-413861904646"), 404)


async def test_filtering_by_user_name_ignores_case_and_by_external_id_matches_exactly(scim):
    # RFC 7644 §3.4.2.2
    await scim.post("/Users", json=BJENSEN)
    await scim.post("/Users", json={"userName": "other@example.com", "externalId": "e-2"})
    found = await scim.get("/Users", params={"filter": 'userName Eq "BJENSEN@example.com"'})
    assert found.status_code == 200
    body = found.json()
    assert body["schemas"] == [LIST_SCHEMA]
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (1, 1, 1)
    assert body["Resources"][0]["id"] == "701984"
    by_external = (await scim.get("/Users", params={"filter": 'externalId eq "e-2"'})).json()
    assert [user["userName"] for user in by_external["Resources"]] == ["other@example.com"]
    none = (await scim.get("/Users", params={"filter": 'userName eq "nobody@example.com"'})).json()
    assert (none["totalResults"], none["Resources"]) == (0, [])


async def test_malformed_filters_are_refused_with_invalid_filter(scim):
    _assert_error(await scim.get("/Users", params={"filter": "title pr and"}), 400, "invalidFilter")
    _assert_error(await scim.get("/Users", params={"filter": 'name.familyName co "x'}), 400, "invalidFilter")


async def test_rfc_filters_with_and_or_not_and_comparisons_select_users(scim):
    # RFC 7644 §3.4.2.2
    await scim.post("/Users", json=BJENSEN)
    await scim.post(
        "/Users", json={"userName": "omalley", "externalId": "e-2", "name": {"familyName": "O'Malley"}}
    )

    async def ids(text: str) -> list[str]:
        found = await scim.get("/Users", params={"filter": text})
        assert found.status_code == 200, found.text
        return [user["id"] for user in found.json()["Resources"]]

    assert await ids("title pr") == ["701984"]
    assert await ids('name.familyName co "O\'Malley"') == ["e-2"]
    assert await ids('userName sw "OM" or title eq "Tour Guide"') == ["701984", "e-2"]
    assert await ids('not (title pr) and userName ew "lley"') == ["e-2"]
    assert await ids('userName ne "omalley"') == ["701984"]
    assert await ids('meta.lastModified gt "2000-01-01T00:00:00Z"') == ["701984", "e-2"]
    assert await ids('meta.lastModified lt "2000-01-01T00:00:00Z"') == []
    assert await ids(f'{ENTERPRISE_SCHEMA}:department eq "Tour Operations"') == ["701984"]


async def test_listing_pages_with_start_index_and_count(scim):
    # RFC 7644 §3.4.2.4
    for n in range(3):
        await scim.post("/Users", json={"userName": f"u{n}@example.com", "externalId": f"u{n}"})
    page = (await scim.get("/Users", params={"startIndex": 2, "count": 1})).json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (3, 2, 1)
    assert [user["id"] for user in page["Resources"]] == ["u1"]
    assert (await scim.get("/Users", params={"count": 0})).json()["totalResults"] == 3
    _assert_error(await scim.get("/Users", params={"count": "many"}), 400, "invalidValue")


async def test_replacing_a_user_sets_what_is_given_and_unassigns_what_is_not(scim):
    # RFC 7644 §3.5.1
    await scim.post("/Users", json=BJENSEN)
    replacement = {
        "schemas": [USER_SCHEMA],
        "id": "701984",
        "userName": "bjensen@example.com",
        "externalId": "701984",
        "name": {"formatted": "Ms. Barbara J Jensen III"},
        "title": "Head Guide",
    }
    replaced = await scim.put("/Users/701984", json=replacement)
    assert replaced.status_code == 200, replaced.text
    user = replaced.json()
    assert (user["displayName"], user["title"], user["active"]) == (
        "Ms. Barbara J Jensen III",
        "Head Guide",
        True,
    )
    assert ENTERPRISE_SCHEMA not in user and "addresses" not in user
    assert user["meta"]["version"] == 'W/"2"'
    _assert_error(await scim.put("/Users/701984", json=replacement | {"externalId": "x"}), 400, "mutability")
    _assert_error(await scim.put("/Users/nobody", json=replacement), 404)


async def test_patch_add_replace_and_remove_change_the_user(scim):
    # RFC 7644 §3.5.2.1-3
    await scim.post("/Users", json=BJENSEN)
    patched = await scim.patch(
        "/Users/701984",
        json=_patch(
            {"op": "add", "value": {"nickName": "Babs", "title": "Senior Guide"}},
            {"op": "replace", "path": "displayName", "value": "Barbara Jensen"},
            {"op": "replace", "path": f"{ENTERPRISE_SCHEMA}:department", "value": "Sales"},
            {"op": "replace", "path": 'addresses[type eq "work"].locality', "value": "Berlin"},
            {"op": "remove", "path": "timezone"},
        ),
    )
    assert patched.status_code == 200, patched.text
    user = patched.json()
    assert (user["displayName"], user["title"]) == ("Barbara Jensen", "Senior Guide")
    assert user[ENTERPRISE_SCHEMA]["department"] == "Sales"
    assert user["addresses"][0]["locality"] == "Berlin"
    assert "timezone" not in user
    assert (await scim.get("/Users/701984")).json() == user
    renamed = await scim.patch(
        "/Users/701984",
        json=_patch(
            {"op": "replace", "path": "userName", "value": "babs@example.com"},
        ),
    )
    assert renamed.json()["userName"] == "babs@example.com"
    _assert_error(await scim.patch("/Users/701984", json=_patch({"op": "remove"})), 400, "noTarget")
    _assert_error(await scim.patch("/Users/701984", json={"Operations": []}), 400, "invalidSyntax")


async def test_scim_create_has_the_same_effect_as_the_hr_employee_joined_event(
    service_settings, scim_running
):
    via_scim = service_settings(Settings, "profiles")
    prefix = via_scim.kafka_topic_prefix
    via_kafka = service_settings(
        Settings,
        "profiles",
        kafka_topic_prefix=f"{prefix}hr.",
        kafka_group_prefix=f"{prefix}hr.",
        mongodb_database=f"{via_scim.database_name}_hr",
    )
    async with scim_running(via_scim) as scim:
        assert (await scim.post("/Users", json=BJENSEN)).status_code == 201
        scim_profile = (await unit_of_work_of(scim.app).profiles.load("701984")).profile
    async with scim_running(via_kafka) as kafka:
        await publish_event(via_kafka.kafka_bootstrap_servers, via_kafka.topic(topics.HR_EMPLOYEES), JOINED)

        async def consumed():
            loaded = await unit_of_work_of(kafka.app).profiles.load("701984")
            return loaded.profile if loaded else None

        kafka_profile = await _eventually(consumed)
    assert scim_profile.hr == kafka_profile.hr
    assert scim_profile.snapshot() == kafka_profile.snapshot()
    published = []
    for settings in (via_scim, via_kafka):
        records = await read_topic(settings.kafka_bootstrap_servers, settings.topic(topics.PROFILES), until=1)
        # the outbox publishes at least once: a redelivery carries the same event id
        assert len({dict(record.headers)["ce_id"] for record in records}) == 1, records
        record = records[0]
        published.append((dict(record.headers)["ce_type"], record.key, json.loads(record.value)))
    assert published[0] == published[1]
    assert published[0][:2] == (b"profile.registered", b"701984")


async def test_patch_active_false_deactivates_and_active_true_rehires(settings, scim):
    # The form Okta and Entra ID send to deactivate (RFC 7644 §3.5.2.3 without a path)
    await scim.post("/Users", json=BJENSEN)
    deactivated = await scim.patch(
        "/Users/701984", json=_patch({"op": "replace", "value": {"active": False}})
    )
    assert deactivated.status_code == 200, deactivated.text
    assert deactivated.json()["active"] is False
    stored = (await unit_of_work_of(scim.app).profiles.load("701984")).profile
    assert stored.status == "inactive"
    records = await read_topic(settings.kafka_bootstrap_servers, settings.topic(topics.PROFILES), until=2)
    assert [dict(r.headers)["ce_type"] for r in records] == [
        b"profile.registered",
        b"profile.deactivated",
    ]
    assert json.loads(records[1].value)["status"] == "inactive"
    listed = (await scim.get("/Users", params={"filter": 'userName eq "bjensen@example.com"'})).json()
    assert [user["active"] for user in listed["Resources"]] == [False]

    rehired = await scim.patch(
        "/Users/701984", json=_patch({"op": "Replace", "path": "active", "value": "True"})
    )
    assert rehired.json()["active"] is True
    records = await read_topic(settings.kafka_bootstrap_servers, settings.topic(topics.PROFILES), until=3)
    assert dict(records[2].headers)["ce_type"] == b"profile.registered"


async def test_deleting_a_user_deactivates_it_and_scim_then_answers_404(settings, scim):
    # RFC 7644 §3.6: after DELETE, the resource answers 404 and is left out of queries
    await scim.post("/Users", json=BJENSEN)
    deleted = await scim.delete("/Users/701984")
    assert deleted.status_code == 204
    _assert_error(await scim.get("/Users/701984"), 404)
    _assert_error(await scim.delete("/Users/701984"), 404)
    _assert_error(
        await scim.patch("/Users/701984", json=_patch({"op": "replace", "path": "title", "value": "x"})),
        404,
    )
    assert (await scim.get("/Users")).json()["totalResults"] == 0
    assert (await scim.get("/Users", params={"filter": 'externalId eq "701984"'})).json()["totalResults"] == 0
    stored = (await unit_of_work_of(scim.app).profiles.load("701984")).profile
    assert stored.status == "inactive" and stored.hr.email == "bjensen@example.com", "deactivated, not erased"
    records = await read_topic(settings.kafka_bootstrap_servers, settings.topic(topics.PROFILES), until=2)
    assert dict(records[1].headers)["ce_type"] == b"profile.deactivated"
    recreated = await scim.post("/Users", json=BJENSEN)
    assert recreated.status_code == 201 and recreated.json()["active"] is True


async def test_discovery_endpoints_describe_the_service(scim):
    # RFC 7644 §4
    config = await scim.get("/ServiceProviderConfig")
    assert config.status_code == 200 and config.headers["content-type"].startswith(SCIM)
    body = config.json()
    assert body["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert body["patch"]["supported"] is True and body["bulk"]["supported"] is False
    assert body["filter"] == {"supported": True, "maxResults": 200}
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    types = (await scim.get("/ResourceTypes")).json()
    assert types["schemas"] == [LIST_SCHEMA]
    user_type, group_type = types["Resources"]
    assert (group_type["id"], group_type["endpoint"], group_type["schema"]) == (
        "Group",
        "/Groups",
        GROUP_SCHEMA,
    )
    assert (user_type["id"], user_type["endpoint"], user_type["schema"]) == (
        "User",
        "/Users",
        USER_SCHEMA,
    )
    assert user_type["schemaExtensions"] == [{"schema": ENTERPRISE_SCHEMA, "required": False}]
    assert (await scim.get("/ResourceTypes/User")).json()["id"] == "User"
    schemas = (await scim.get("/Schemas")).json()
    assert {schema["id"] for schema in schemas["Resources"]} == {USER_SCHEMA, ENTERPRISE_SCHEMA, GROUP_SCHEMA}
    user_schema = (await scim.get(f"/Schemas/{USER_SCHEMA}")).json()
    user_name = next(a for a in user_schema["attributes"] if a["name"] == "userName")
    assert (user_name["required"], user_name["uniqueness"]) == (True, "server")
    _assert_error(await scim.get("/Schemas/urn:nope"), 404)
    for path in (
        "/ServiceProviderConfig",
        "/ResourceTypes",
        "/Schemas",
        "/Schemas/urn:x",
        "/ResourceTypes/User",
    ):
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            refused = await scim.request(method, path, json={})
            _assert_error(refused, 405)
            assert refused.headers["Allow"] == "GET"


async def test_errors_on_scim_routes_use_the_scim_error_schema(settings, scim):
    # RFC 7644 §3.12
    anonymous = await scim.get("/Users", headers={"Authorization": ""})
    _assert_error(anonymous, 401)
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    employee = mint_dev_token(settings.jwt_secret.get_secret_value(), sub="e-1", roles=["employee"])
    _assert_error(await scim.get("/Users", headers={"Authorization": f"Bearer {employee}"}), 403)
    _assert_error(await scim.post("/Users", content=b"{not json"), 400, "invalidSyntax")
    bad_email = {"userName": "a", "emails": [{"value": "not an email"}]}
    _assert_error(await scim.post("/Users", json=bad_email), 400, "invalidValue")
    _assert_error(
        await scim.post("/Users", json={"userName": "a@example.com", "timezone": "Mars/Base"}),
        400,
        "invalidValue",
    )
    _assert_error(await scim.get("/Bulk"), 404)
    _assert_error(await scim.get("/Me"), 501)
    plain = await scim.get("https://example.com/v1/profiles/nobody")
    assert plain.json() == {"detail": "no profile for employee nobody"}, "the /v1 API keeps its error format"
