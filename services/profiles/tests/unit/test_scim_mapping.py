"""SCIM Users (RFC 7643/7644 examples) as ``hr.employees`` events, and profiles as SCIM Users."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from tandem_contracts import EmployeeJoined, EmployeeLeft, EmployeeUpdated
from tandem_profiles.domain.parts import ScimAccount
from tandem_profiles.domain.profile import apply_hr_event
from tandem_profiles.domain.scim import (
    ENTERPRISE_SCHEMA,
    PATCH_SCHEMA,
    USER_RESOURCE,
    USER_SCHEMA,
    ScimError,
    hr_events,
    hr_values,
    normalise_user,
    user_resource,
)
from tandem_profiles.domain.scim.attributes import USER
from tandem_profiles.domain.scim.patch import apply_patch as apply_resource_patch
from tandem_profiles.domain.scim.query import Projection, parse_filter


def apply_patch(user, body):
    return apply_resource_patch(user, body, USER_RESOURCE)


pytestmark = pytest.mark.unit

# RFC 7643 §8.2 (full User representation) and §8.3 (enterprise extension), trimmed.
FULL_USER = {
    "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
    "externalId": "701984",
    "userName": "bjensen@example.com",
    "name": {
        "formatted": "Ms. Barbara J Jensen, III",
        "familyName": "Jensen",
        "givenName": "Barbara",
    },
    "displayName": "Babs Jensen",
    "nickName": "Babs",
    "title": "Tour Guide",
    "preferredLanguage": "en-US",
    "locale": "en-US",
    "timezone": "America/Los_Angeles",
    "active": True,
    "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
    "addresses": [
        {
            "type": "work",
            "streetAddress": "100 Universal City Plaza",
            "locality": "Hollywood",
            "region": "CA",
            "postalCode": "91608",
            "country": "USA",
            "primary": True,
        },
        {"type": "home", "locality": "Anytown"},
    ],
    ENTERPRISE_SCHEMA: {
        "employeeNumber": "701984",
        "department": "Tour Operations",
        "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"},
    },
}


def _patch(*operations: dict) -> dict:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


def _profile_of(*events, start: int = 0):
    profile = None
    for offset, event in enumerate(events):
        at = datetime(2024, 1, 1, 12, start + offset, tzinfo=UTC)
        profile = apply_hr_event(profile, event, time=at, event_id=f"e{offset}").profile
    return profile


def _rendered(profile):
    return user_resource(
        profile, location=f"https://example.com/scim/v2/Users/{profile.employee_id}", revision=1
    )


def test_the_full_rfc_user_maps_to_every_contract_field_it_carries():
    assert hr_values(normalise_user(FULL_USER)) == {
        "email": "bjensen@example.com",
        "display_name": "Babs Jensen",
        "job_title": "Tour Guide",
        "timezone": "America/Los_Angeles",
        "languages": ["en"],
        "location": "Hollywood",
        "department": "Tour Operations",
        "manager_id": "26118915-6090-4610-87e4-49d8ca9f808d",
    }


def test_creating_a_user_is_an_employee_joined_with_the_external_id_as_employee_id():
    events = hr_events("701984", current=None, desired=normalise_user(FULL_USER))
    assert events == [
        EmployeeJoined(
            employee_id="701984",
            email="bjensen@example.com",
            display_name="Babs Jensen",
            job_title="Tour Guide",
            timezone="America/Los_Angeles",
            languages=["en"],
            location="Hollywood",
            department="Tour Operations",
            manager_id="26118915-6090-4610-87e4-49d8ca9f808d",
        )
    ]


def test_the_display_name_falls_back_to_the_formatted_name_then_the_name_parts_then_the_user_name():
    base = {"userName": "bjensen@example.com"}
    formatted = {
        "formatted": "Ms. Barbara J Jensen III",
        "givenName": "Barbara",
        "familyName": "Jensen",
    }
    assert hr_values(base | {"name": formatted})["display_name"] == "Ms. Barbara J Jensen III"
    parts = {"givenName": "Barbara", "familyName": "Jensen"}
    assert hr_values(base | {"name": parts})["display_name"] == "Barbara Jensen"
    assert hr_values(base)["display_name"] == "bjensen@example.com"


def test_the_rfc_7644_create_example_is_provisioned_without_an_email():
    example = {  # RFC 7644 §3.3, verbatim: userName is any unique string (RFC 7643 §4.1.1)
        "schemas": [USER_SCHEMA],
        "userName": "bjensen",
        "externalId": "bjensen",
        "name": {
            "formatted": "Ms. Barbara J Jensen III",
            "familyName": "Jensen",
            "givenName": "Barbara",
        },
    }
    [joined] = hr_events("bjensen", current=None, desired=normalise_user(example))
    assert isinstance(joined, EmployeeJoined)
    assert (joined.email, joined.display_name) == (None, "Ms. Barbara J Jensen III")


def test_the_email_is_the_primary_else_the_work_else_the_first_else_an_email_user_name():
    emails = [{"value": "home@example.com", "type": "home"}, {"value": "work@example.com", "type": "work"}]
    assert hr_values({"userName": "b", "emails": emails})["email"] == "work@example.com"
    primary = [*emails, {"value": "p@example.com", "type": "other", "primary": True}]
    assert hr_values({"userName": "b", "emails": primary})["email"] == "p@example.com"
    assert hr_values({"userName": "b", "emails": emails[:1]})["email"] == "home@example.com"
    assert hr_values({"userName": "b@example.com"})["email"] == "b@example.com"
    assert hr_values({"userName": "bjensen"})["email"] is None


def test_an_error_never_echoes_a_large_input():
    with pytest.raises(ScimError) as refused:
        apply_patch({}, _patch({"op": "replace", "path": "x" * 100_000 + "[", "value": 1}))
    assert len(refused.value.detail) < 200


def test_attribute_names_are_case_insensitive_and_entra_style_manager_strings_are_accepted():
    user = normalise_user(
        {
            "USERNAME": "a@example.com",
            "DisplayName": "A",
            "Title": "Dev",
            ENTERPRISE_SCHEMA.upper(): {"Department": "R&D", "MANAGER": "m-1"},
        }
    )
    values = hr_values(user)
    assert (values["email"], values["job_title"], values["department"], values["manager_id"]) == (
        "a@example.com",
        "Dev",
        "R&D",
        "m-1",
    )


def test_a_profile_renders_as_a_scim_user_that_maps_back_to_the_same_fields():
    joined = EmployeeJoined(
        employee_id="701984",
        email="bjensen@example.com",
        display_name="Babs Jensen",
        department="Tour Operations",
        job_title="Tour Guide",
        manager_id="m-1",
        location="Hollywood",
        timezone="America/Los_Angeles",
        languages=["en"],
    )
    user = _rendered(_profile_of(joined))
    assert user["schemas"] == [USER_SCHEMA, ENTERPRISE_SCHEMA]
    assert (user["id"], user["externalId"], user["active"]) == ("701984", "701984", True)
    assert user["meta"]["resourceType"] == "User"
    assert user["meta"]["version"] == 'W/"1"'
    assert user["meta"]["location"].endswith("/Users/701984")
    assert hr_values(user) == joined.model_dump(exclude={"employee_id", "level", "start_date"})
    assert user["userName"] == "bjensen@example.com"


def test_a_patch_that_changes_nothing_mapped_sends_no_event():
    profile = _profile_of(
        EmployeeJoined(
            employee_id="e1",
            email="a@example.com",
            display_name="A",
            languages=["en", "de"],
        )
    )
    current = _rendered(profile)
    patched = apply_patch(current, _patch({"op": "replace", "path": "nickName", "value": "Babs"}))
    assert hr_events("e1", current=current, desired=patched) == []


def test_rfc_add_without_path_adds_the_attributes_given():
    # RFC 7644 §3.5.2.1
    current = {"userName": "a@example.com", "emails": [{"value": "a@example.com", "type": "work"}]}
    patched = apply_patch(
        current,
        _patch(
            {
                "op": "add",
                "value": {
                    "emails": [{"value": "babs@jensen.org", "type": "home"}],
                    "nickname": "Babs",
                },
            }
        ),
    )
    assert patched["emails"] == [
        {"value": "a@example.com", "type": "work"},
        {"value": "babs@jensen.org", "type": "home"},
    ]
    assert patched["nickName"] == "Babs"


def test_rfc_replace_with_a_value_filter_replaces_the_matching_sub_attribute():
    # RFC 7644 §3.5.2.3
    current = {
        "userName": "a@example.com",
        "addresses": [{"type": "work", "locality": "Hollywood"}],
    }
    patched = apply_patch(
        current,
        _patch(
            {
                "op": "replace",
                "path": 'addresses[type eq "work"].locality',
                "value": "Berlin",
            }
        ),
    )
    assert hr_values(patched)["location"] == "Berlin"
    with pytest.raises(ScimError) as refused:
        apply_patch(
            current,
            _patch(
                {
                    "op": "replace",
                    "path": 'addresses[type eq "home"].locality',
                    "value": "Rome",
                }
            ),
        )
    assert refused.value.scim_type == "noTarget"


def test_rfc_remove_of_a_single_valued_attribute_unassigns_it():
    # RFC 7644 §3.5.2.2
    profile = _profile_of(
        EmployeeJoined(
            employee_id="e1",
            email="a@example.com",
            display_name="A",
            job_title="Dev",
            department="R&D",
        )
    )
    current = _rendered(profile)
    patched = apply_patch(
        current,
        _patch(
            {"op": "remove", "path": "title"},
            {"op": "remove", "path": f"{ENTERPRISE_SCHEMA}:department"},
        ),
    )
    assert hr_events("e1", current=current, desired=patched) == [
        EmployeeUpdated(employee_id="e1", job_title=None, department=None)
    ]


def test_entra_id_style_operations_with_capitalised_ops_string_booleans_and_dotted_keys_work():
    profile = _profile_of(EmployeeJoined(employee_id="e1", email="a@example.com", display_name="A"))
    current = _rendered(profile)
    patched = apply_patch(
        current,
        _patch(
            {
                "op": "Replace",
                "value": {"displayName": "Alice", f"{ENTERPRISE_SCHEMA}:department": "Ops"},
            },
            {"op": "Add", "path": f"{ENTERPRISE_SCHEMA}:manager", "value": "m-9"},
            {"op": "Replace", "path": "active", "value": "False"},
        ),
    )
    assert hr_events("e1", current=current, desired=patched) == [
        EmployeeUpdated(employee_id="e1", display_name="Alice", department="Ops", manager_id="m-9"),
        EmployeeLeft(employee_id="e1"),
    ]


def test_okta_style_active_false_is_an_employee_left_and_active_true_a_rehire():
    profile = _profile_of(EmployeeJoined(employee_id="e1", email="a@example.com", display_name="A"))
    current = _rendered(profile)
    deactivate = apply_patch(current, _patch({"op": "replace", "value": {"active": False}}))
    assert hr_events("e1", current=current, desired=deactivate) == [EmployeeLeft(employee_id="e1")]
    left = _profile_of(
        EmployeeJoined(employee_id="e1", email="a@example.com", display_name="A"),
        EmployeeLeft(employee_id="e1"),
    )
    inactive = _rendered(left)
    assert inactive["active"] is False
    reactivate = apply_patch(inactive, _patch({"op": "replace", "path": "active", "value": True}))
    assert hr_events("e1", current=inactive, desired=reactivate) == [
        EmployeeJoined(employee_id="e1", email="a@example.com", display_name="A")
    ]


@pytest.mark.parametrize(
    ("operation", "scim_type"),
    [
        ({"op": "remove"}, "noTarget"),
        ({"op": "replace", "path": "id", "value": "other"}, "mutability"),
        ({"op": "replace", "path": "externalId", "value": "other"}, "mutability"),
        ({"op": "remove", "path": "userName"}, "mutability"),
        ({"op": "replace", "path": "urn:example:unknown:attr", "value": 1}, "invalidPath"),
        ({"op": "move", "path": "title", "value": "x"}, "invalidSyntax"),
    ],
)
def test_invalid_patch_operations_are_refused_with_the_rfc_error_type(operation, scim_type):
    current = {"id": "e1", "externalId": "e1", "userName": "a@example.com"}
    with pytest.raises(ScimError) as refused:
        apply_patch(current, _patch(operation))
    assert (refused.value.status, refused.value.scim_type) == (400, scim_type)


def test_a_patch_without_the_patch_op_schema_is_refused():
    with pytest.raises(ScimError) as refused:
        apply_patch({}, {"Operations": [{"op": "add", "path": "title", "value": "x"}]})
    assert refused.value.scim_type == "invalidSyntax"


def test_invalid_values_are_refused_naming_the_scim_attribute():
    with pytest.raises(ScimError) as refused:
        hr_events("e1", current=None, desired={"userName": "a@example.com", "timezone": "Mars/Base"})
    assert refused.value.scim_type == "invalidValue"
    assert "timezone" in refused.value.detail


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "bjensen@example.com"', {"username": "bjensen@example.com"}),
        ('externalId eq "701984" and title pr', {"externalid": "701984"}),
        ('userName eq "a" or title eq "b"', {}),
    ],
)
def test_filters_name_the_equalities_a_store_can_look_up(text, expected):
    assert dict(parse_filter(text, "User").equals) == expected


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ('userName sw "BJ"', True),
        ('title eq "Tour Guide" and not (active eq false)', True),
        ('meta.lastModified gt "2024-01-01T00:00:00Z"', True),
        ('meta.lastModified lt "2024-01-01T00:00:00Z"', False),
        ('emails[type eq "work" and value ew "example.com"]', True),
        ('displayName co "Babs" or title pr', True),
        ('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department ne "Sales"', True),
        ("nickName pr", False),
    ],
)
def test_rfc_filters_match_rendered_users(text, matches):
    user = normalise_user(FULL_USER) | {
        "id": "701984",
        "meta": {"resourceType": "User", "lastModified": "2024-02-01T00:00:00Z"},
    }
    user.pop("nickName")
    assert parse_filter(text, "User").match(user) is matches


@pytest.mark.parametrize("text", ["nonsense", 'userName eq "a" and', "(", "userName zz 5"])
def test_malformed_filters_are_refused_as_invalid_filter(text):
    with pytest.raises(ScimError) as refused:
        parse_filter(text, "User")
    assert (refused.value.status, refused.value.scim_type) == (400, "invalidFilter")


def test_a_user_reads_back_as_sent_where_the_profile_still_says_the_same():
    sent = normalise_user(FULL_USER)
    [joined] = hr_events("701984", current=None, desired=sent)
    profile = replace(_profile_of(joined), scim=ScimAccount("bjensen@example.com", sent))
    user = _rendered(profile)
    assert user["emails"] == FULL_USER["emails"] and user["addresses"] == FULL_USER["addresses"]
    assert user["name"] == FULL_USER["name"] and user["nickName"] == "Babs"
    moved = apply_hr_event(
        profile,
        EmployeeUpdated(employee_id="701984", location="Berlin"),
        time=datetime(2024, 2, 1, tzinfo=UTC),
        event_id="hr-2",
    ).profile
    assert _rendered(moved)["addresses"] == [{"type": "work", "locality": "Berlin", "primary": True}], (
        "HR's newer value wins over what the identity provider sent"
    )


@pytest.mark.parametrize(
    ("attributes", "excluded", "kept"),
    [
        ("userName", None, {"schemas", "id", "userName"}),
        ("name.givenName,emails", None, {"schemas", "id", "name", "emails"}),
        (f"{ENTERPRISE_SCHEMA}:department", None, {"schemas", "id", ENTERPRISE_SCHEMA}),
        (None, "emails,meta,id", set(FULL_USER) - {"emails"} | {"id"}),
    ],
)
def test_attributes_and_excluded_attributes_pick_what_is_returned(attributes, excluded, kept):
    user = normalise_user(FULL_USER) | {"id": "701984"}
    shaped = Projection.of(attributes, excluded).apply(user, USER)
    assert set(shaped) == kept
    if attributes and attributes.startswith("name."):
        assert shaped["name"] == {"givenName": "Barbara"}
