"""The profiles use cases on in-memory fakes of the repositories: no broker, no store."""

import asyncio
from datetime import timedelta

import pytest
from tandem_chassis.concurrency import ConflictError
from tandem_contracts import EmployeeJoined, EmployeeLeft, EmployeeUpdated, ProfileRegistered, ProfileUpdated
from tandem_profiles.domain.profile import InactiveProfileError
from tandem_profiles.domain.scim import ScimError
from tandem_profiles.service_layer import scim
from tandem_profiles.service_layer.profiles import (
    HrChange,
    ProfileNotFoundError,
    apply_hr_batch,
    apply_hr_change,
    erase_due_profiles,
    update_mentoring_profile,
)

from .fakes import T0, fake_unit_of_work

pytestmark = pytest.mark.unit
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def joined(employee_id: str = "e-1", **fields) -> EmployeeJoined:
    return EmployeeJoined(employee_id=employee_id, display_name="Ada", **fields)


async def test_a_joined_event_registers_a_profile_and_a_redelivery_changes_nothing():
    uow, profiles, _ = fake_unit_of_work()
    for _ in range(2):
        await apply_hr_change(joined(email="ada@example.com"), event_id="ev-1", time=T0, uow=uow)
    assert [type(event) for event in profiles.published] == [ProfileRegistered]
    assert profiles.stored["e-1"].profile.hr.email == "ada@example.com"


async def test_an_employee_without_an_email_is_registered_without_one():
    uow, profiles, _ = fake_unit_of_work()
    await apply_hr_change(joined(), event_id="ev-1", time=T0, uow=uow)
    assert profiles.published[0].email is None


async def test_a_write_that_keeps_losing_is_a_conflict_error_not_a_crash():
    uow, profiles, _ = fake_unit_of_work()
    profiles.lose_next_writes = 3
    await apply_hr_change(joined(), event_id="ev-1", time=T0, uow=uow)
    assert profiles.stored["e-1"].profile.known, "retried after three lost races"
    profiles.lose_next_writes = 100
    with pytest.raises(ConflictError):
        await apply_hr_change(joined(department="R&D"), event_id="ev-2", time=T0, uow=uow)


async def test_a_batch_has_the_effect_of_its_events_one_by_one():
    uow, profiles, _ = fake_unit_of_work()
    changes = [
        HrChange(joined("e-1"), "a", T0),
        HrChange(EmployeeUpdated(employee_id="e-1", department="Sales"), "b", T0 + timedelta(minutes=1)),
        HrChange(joined("e-2"), "c", T0),
        HrChange(joined("e-2"), "c", T0),
    ]
    await apply_hr_batch(changes, uow=uow)
    assert profiles.stored["e-1"].profile.hr.department == "Sales"
    assert [type(event) for event in profiles.published] == [
        ProfileRegistered,
        ProfileUpdated,
        ProfileRegistered,
    ]


async def test_mentoring_edits_need_a_known_active_profile():
    uow, _, _ = fake_unit_of_work()
    with pytest.raises(ProfileNotFoundError):
        await update_mentoring_profile("e-1", {"bio": "hi"}, uow=uow)
    await apply_hr_change(joined(), event_id="a", time=T0, uow=uow)
    edited = await update_mentoring_profile("e-1", {"roles": ["mentor"], "mentor_capacity": 2}, uow=uow)
    assert (edited.mentoring.roles, edited.mentoring.mentor_capacity) == (("mentor",), 2)
    await apply_hr_change(
        EmployeeLeft(employee_id="e-1"), event_id="b", time=T0 + timedelta(minutes=1), uow=uow
    )
    with pytest.raises(InactiveProfileError):
        await update_mentoring_profile("e-1", {"bio": "hi"}, uow=uow)


async def test_leavers_are_erased_once_their_retention_is_over():
    uow, profiles, _ = fake_unit_of_work()
    await apply_hr_change(joined(email="ada@example.com"), event_id="a", time=T0, uow=uow)
    await apply_hr_change(EmployeeLeft(employee_id="e-1"), event_id="b", time=T0, uow=uow)
    assert await erase_due_profiles(uow=uow, now=T0 + timedelta(days=29)) == 0
    assert await erase_due_profiles(uow=uow, now=T0 + timedelta(days=31)) == 1
    assert profiles.stored["e-1"].profile.status == "erased"
    assert profiles.stored["e-1"].profile.hr.email is None


async def test_a_scim_create_refuses_a_taken_user_name_and_a_taken_id():
    uow, _, _ = fake_unit_of_work()
    await scim.create_user(uow, {"userName": "bjensen", "externalId": "e-1"})
    with pytest.raises(ScimError) as same_name:
        await scim.create_user(uow, {"userName": "BJensen", "externalId": "e-2"})
    with pytest.raises(ScimError) as same_id:
        await scim.create_user(uow, {"userName": "other", "externalId": "e-1"})
    assert {same_name.value.scim_type, same_id.value.scim_type} == {"uniqueness"}


async def test_a_scim_delete_hides_the_user_and_a_create_rehires_them():
    uow, profiles, _ = fake_unit_of_work()
    await scim.create_user(uow, {"userName": "bjensen", "externalId": "e-1"})
    await scim.delete_user(uow, "e-1")
    assert not scim.is_visible(profiles.stored["e-1"].profile)
    with pytest.raises(ScimError):
        await scim.existing_user(uow, "e-1")
    again = await scim.create_user(uow, {"userName": "bjensen", "externalId": "e-1"})
    assert again.profile.status == "active"


async def test_a_user_name_only_change_is_stored_but_not_published():
    uow, profiles, _ = fake_unit_of_work()
    await scim.create_user(uow, {"userName": "bjensen", "externalId": "e-1", "displayName": "Babs"})
    body = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "userName", "value": "babs"}]}
    changed = await scim.patch_user(uow, "e-1", body)
    assert changed.profile.scim_user_name == "babs"
    assert len(profiles.published) == 1


async def test_group_membership_reaches_the_members_profiles():
    uow, profiles, groups = fake_unit_of_work()
    await scim.create_user(uow, {"userName": "bjensen", "externalId": "e-1"})
    group = await scim.create_group(
        uow, {"displayName": "Women in Engineering", "members": [{"value": "e-1"}]}
    )
    assert profiles.stored["e-1"].profile.groups == (group.group.group_id,)
    assert profiles.published[-1].groups == [group.group.group_id]
    with pytest.raises(ScimError) as duplicate:
        await scim.create_group(uow, {"displayName": "women in engineering"})
    assert duplicate.value.scim_type == "uniqueness"
    remove = {"schemas": [PATCH], "Operations": [{"op": "remove", "path": 'members[value eq "e-1"]'}]}
    await scim.patch_group(uow, group.group.group_id, remove)
    assert profiles.stored["e-1"].profile.groups == ()
    await scim.delete_group(uow, group.group.group_id)
    assert groups.stored == {}


async def test_a_member_pushed_before_the_user_gets_the_group_when_the_user_is_created():
    uow, profiles, _ = fake_unit_of_work()
    group = await scim.create_group(uow, {"displayName": "Cohort 7", "members": [{"value": "e-1"}]})
    await scim.create_user(uow, {"userName": "bjensen", "externalId": "e-1"})
    assert profiles.stored["e-1"].profile.groups == (group.group.group_id,)


async def test_a_stale_if_match_is_refused_with_412():
    uow, _, _ = fake_unit_of_work()
    created = await scim.create_user(uow, {"userName": "bjensen", "externalId": "e-1"})
    body = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "Guide"}]}
    await scim.patch_user(uow, "e-1", body, if_match=f'W/"{created.revision}"')
    with pytest.raises(ScimError) as stale:
        await scim.patch_user(uow, "e-1", body, if_match=f'W/"{created.revision}"')
    assert stale.value.status == 412


async def test_member_patches_sent_in_parallel_all_land():
    uow, _, _ = fake_unit_of_work()
    group = await scim.create_group(uow, {"displayName": "Cohort 7"})
    group_id = group.group.group_id

    async def add(member: str) -> None:
        body = {
            "schemas": [PATCH],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": member}]}],
        }
        await scim.patch_group(uow, group_id, body)

    await asyncio.gather(*(add(f"e-{n}") for n in range(5)))
    assert (await scim.existing_group(uow, group_id)).group.member_ids == {f"e-{n}" for n in range(5)}
