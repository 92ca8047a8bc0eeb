"""What Entra ID and Okta really send (their documented requests, kept under ``tests/data/scim``),
and the RFC 7644 parts clients rely on, against the real app on the real broker and store."""

import json

import pytest
from tandem_chassis.testing import read_topic
from tandem_contracts import topics
from tandem_profiles.entrypoints.deps import unit_of_work_of

from .conftest import provider_samples

pytestmark = pytest.mark.integration

ENTRA = provider_samples("entra_id")["requests"]
OKTA = provider_samples("okta")["requests"]
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


async def send(scim, sample: dict, **ids: str):
    """Send a documented request, with ``{user_id}``-style placeholders filled in."""
    text = json.dumps(sample)
    for name, value in ids.items():
        text = text.replace("{" + name + "}", value)
    request = json.loads(text)
    return await scim.request(
        request["method"], request["path"], params=request.get("params"), json=request.get("body")
    )


async def profile_of(scim, employee_id: str):
    loaded = await unit_of_work_of(scim.app).profiles.load(employee_id)
    assert loaded is not None
    return loaded.profile


async def published(settings, count: int) -> list[tuple[str, dict]]:
    records = await read_topic(settings.kafka_bootstrap_servers, settings.topic(topics.PROFILES), until=count)
    return [(dict(r.headers)["ce_type"].decode(), json.loads(r.value)) for r in records]


def test_the_provider_samples_name_their_source():
    for name in ("entra_id", "okta"):
        samples = provider_samples(name)
        assert samples["source"] and samples["note"] and samples["requests"]


async def test_entra_id_looks_a_user_up_then_creates_one_whose_user_name_is_no_email(scim):
    found = await send(scim, ENTRA["find_user_by_user_name"])
    assert (found.status_code, found.json()["totalResults"]) == (200, 0)
    created = await send(scim, ENTRA["create_user"])
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["id"] == user["externalId"] == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    assert user["userName"] == "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081"
    assert user["emails"] == ENTRA["create_user"]["body"]["emails"]
    profile = await profile_of(scim, user["id"])
    assert profile.hr.email == "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"
    assert profile.hr.display_name == "givenName familyName"
    for lookup in ("find_user_by_user_name", "find_user_by_external_id"):
        listed = (await send(scim, ENTRA[lookup])).json()
        assert [u["id"] for u in listed["Resources"]] == [user["id"]], lookup


async def test_entra_id_patch_requests_change_the_profile_as_hr_events_would(settings, scim):
    user_id = (await send(scim, ENTRA["create_user"])).json()["id"]
    patched = await send(scim, ENTRA["update_multi_valued"], user_id=user_id)
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"]["familyName"] == "updatedFamilyName"
    assert (await profile_of(scim, user_id)).hr.email == "updatedEmail@microsoft.com"
    assert (await send(scim, ENTRA["update_address"], user_id=user_id)).status_code == 200
    assert (await profile_of(scim, user_id)).hr.location == "One Microsoft Way, Redmond"
    dotted = (await send(scim, ENTRA["replace_without_path_dotted_keys"], user_id=user_id)).json()
    assert (dotted["displayName"], dotted["title"], dotted["name"]["givenName"]) == (
        "Updated Name",
        "Engineer",
        "Updated",
    )
    await send(scim, ENTRA["set_manager_as_string"], user_id=user_id, manager_id="m-1")
    assert (await profile_of(scim, user_id)).hr.manager_id == "m-1"
    as_object = (await send(scim, ENTRA["set_manager_as_object"], user_id=user_id, manager_id="m-2")).json()
    assert as_object[ENTERPRISE]["manager"]["value"] == "m-2"
    removed = (await send(scim, ENTRA["remove_manager"], user_id=user_id)).json()
    assert ENTERPRISE not in removed
    assert (await profile_of(scim, user_id)).hr.manager_id is None
    disabled = await send(scim, ENTRA["disable_user_string_boolean"], user_id=user_id)
    assert disabled.json()["active"] is False
    events = await published(settings, 8)
    assert [kind for kind, _ in events] == ["profile.registered"] + ["profile.updated"] * 6 + [
        "profile.deactivated"
    ]
    assert [data["manager_id"] for _, data in events[4:7]] == ["m-1", "m-2", None]


async def test_entra_id_groups_carry_their_members_group_ids_on_tandem_profiles(settings, scim):
    user_id = (await send(scim, ENTRA["create_user"])).json()["id"]
    created = await send(scim, ENTRA["create_group"])
    assert created.status_code == 201, created.text
    group = created.json()
    assert (group["displayName"], group["externalId"]) == (
        "displayName",
        "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
    )
    assert created.headers["Location"] == group["meta"]["location"]
    group_id = group["id"]
    added = await send(scim, ENTRA["add_members"], group_id=group_id, user_id=user_id)
    assert added.status_code in (200, 204), added.text
    assert (await profile_of(scim, user_id)).groups == (group_id,)
    fetched = (await send(scim, ENTRA["get_group_without_members"], group_id=group_id)).json()
    assert "members" not in fetched and fetched["id"] == group_id
    assert [g["id"] for g in (await send(scim, ENTRA["find_group_by_display_name"])).json()["Resources"]] == [
        group_id
    ]
    full = (await scim.get(f"/Groups/{group_id}")).json()
    assert [member["value"] for member in full["members"]] == [user_id]
    user = (await scim.get(f"/Users/{user_id}")).json()
    assert user["groups"] == [{"value": group_id}]
    renamed = (await send(scim, ENTRA["rename_group"], group_id=group_id)).json()
    assert renamed["displayName"].endswith("updatedDisplayName")
    await send(scim, ENTRA["remove_members"], group_id=group_id, user_id=user_id)
    assert (await profile_of(scim, user_id)).groups == ()
    events = await published(settings, 3)
    assert [(kind, data["groups"]) for kind, data in events] == [
        ("profile.registered", []),
        ("profile.updated", [group_id]),
        ("profile.updated", []),
    ]
    assert (await send(scim, ENTRA["delete_group"], group_id=group_id)).status_code == 204
    assert (await scim.get(f"/Groups/{group_id}")).status_code == 404


async def test_okta_finds_creates_updates_with_put_and_refuses_a_duplicate_user_name(scim):
    found = await send(scim, OKTA["find_user"])
    assert found.json()["totalResults"] == 0
    created = await send(scim, OKTA["create_user"])
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    assert "password" not in created.json()
    duplicate = await send(
        scim, OKTA["create_user"] | {"body": OKTA["create_user"]["body"] | {"externalId": "x"}}
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["scimType"] == "uniqueness"
    listed = (await send(scim, OKTA["find_user"])).json()
    assert (listed["totalResults"], listed["startIndex"], listed["Resources"][0]["id"]) == (1, 1, user_id)
    updated = await send(scim, OKTA["update_user"], user_id=user_id)
    assert updated.status_code == 200, updated.text
    profile = await profile_of(scim, user_id)
    assert (profile.hr.display_name, profile.hr.languages, profile.status) == (
        "Another User",
        ("en",),
        "active",
    )


@pytest.mark.parametrize("request_name", ["deactivate_user_patch", "deactivate_user_put"])
async def test_okta_deactivates_with_patch_or_put(scim, request_name):
    user_id = (await send(scim, OKTA["create_user"])).json()["id"]
    answered = await send(scim, OKTA[request_name], user_id=user_id)
    assert answered.status_code == 200, answered.text
    assert answered.json()["active"] is False
    assert (await profile_of(scim, user_id)).status == "inactive"


async def test_okta_group_pushes_add_rename_remove_replace_and_delete(scim):
    user_id = (await send(scim, OKTA["create_user"])).json()["id"]
    group_id = (await send(scim, OKTA["create_group"])).json()["id"]
    assert [g["id"] for g in (await send(scim, OKTA["find_group"])).json()["Resources"]] == [group_id]
    await send(scim, OKTA["add_member"], group_id=group_id, user_id=user_id)
    assert (await profile_of(scim, user_id)).groups == (group_id,)
    renamed = await send(scim, OKTA["rename_group"], group_id=group_id)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["displayName"] == "Test SCIMv2 renamed"
    assert renamed.json()["members"] == [{"value": user_id, "display": "test.user@okta.local"}]
    await send(scim, OKTA["remove_member"], group_id=group_id, user_id=user_id)
    assert (await profile_of(scim, user_id)).groups == ()
    replaced = await send(scim, OKTA["replace_group"], group_id=group_id, user_id=user_id)
    assert replaced.status_code == 200, replaced.text
    assert (await profile_of(scim, user_id)).groups == (group_id,)
    assert (await send(scim, OKTA["delete_group"], group_id=group_id)).status_code == 204
    assert (await profile_of(scim, user_id)).groups == ()


async def test_a_user_without_any_email_is_provisioned_and_published_without_one(settings, scim):
    created = await scim.post("/Users", json={"userName": "bjensen", "name": {"givenName": "Barbara"}})
    assert created.status_code == 201, created.text
    assert "emails" not in created.json()
    [(kind, data)] = await published(settings, 1)
    assert (kind, data["email"], data["display_name"]) == ("profile.registered", None, "Barbara")


async def test_versions_are_etags_honoured_by_if_match_and_if_none_match(scim):
    created = await scim.post("/Users", json={"userName": "bjensen", "externalId": "e-1"})
    etag = created.headers["ETag"]
    assert (await scim.get("/Users/e-1", headers={"If-None-Match": etag})).status_code == 304
    change = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "replace", "path": "title", "value": "Guide"}
    ]}  # fmt: skip
    assert (await scim.patch("/Users/e-1", json=change, headers={"If-Match": etag})).status_code == 200
    stale = await scim.patch("/Users/e-1", json=change, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.json()["status"] == "412"
    assert (await scim.delete("/Users/e-1", headers={"If-Match": etag})).status_code == 412


async def test_attributes_and_excluded_attributes_shape_gets_and_lists(scim):
    await scim.post("/Users", json={"userName": "bjensen", "externalId": "e-1", "title": "Guide"})
    only = (await scim.get("/Users/e-1", params={"attributes": "userName"})).json()
    assert set(only) == {"schemas", "id", "userName"}
    without = (await scim.get("/Users", params={"excludedAttributes": "title,meta"})).json()["Resources"][0]
    assert "title" not in without and "meta" not in without and without["id"] == "e-1"
    paged = (await scim.get("/Users", params={"startIndex": "1", "count": "1", "attributes": "id"})).json()
    assert paged["totalResults"] == 1 and paged["Resources"] == [
        {"schemas": paged["Resources"][0]["schemas"], "id": "e-1"}
    ]


async def test_errors_never_echo_a_large_input(scim):
    huge = "x" * 50_000
    refused = await scim.get("/Users", params={"filter": f'userName eq "{huge}" and'})
    assert refused.status_code == 400 and len(refused.text) < 1_000
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": huge}]}
    await scim.post("/Users", json={"userName": "bjensen", "externalId": "e-1"})
    refused = await scim.patch("/Users/e-1", json=patch)
    assert refused.status_code == 400 and len(refused.text) < 1_000


async def test_a_search_at_the_root_finds_users_and_groups(scim):
    await scim.post("/Users", json={"userName": "bjensen", "externalId": "e-1", "displayName": "Cohort"})
    await scim.post("/Groups", json={"displayName": "Cohort 7"})
    found = await scim.post(
        "/.search", json={"filter": 'displayName sw "Cohort"', "attributes": ["displayName"]}
    )
    assert found.status_code == 200, found.text
    assert sorted(r["displayName"] for r in found.json()["Resources"]) == ["Cohort", "Cohort 7"]
