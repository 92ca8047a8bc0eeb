"""The decisions behind ``/scim/v2``: uniqueness, re-hire, event ids, versions, group members.

Every User write becomes the ``hr.employees`` events of ``domain/scim/users.py`` and runs through
:func:`apply_hr_change`, the use case the Kafka subscriber calls, so it has the same effect.
"""

import json
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Final

from tandem_chassis.concurrency import Retry, keyed_lock, retry_on_conflict
from tandem_contracts import EmployeeLeft

from tandem_profiles.domain.groups import Group, changed_members
from tandem_profiles.domain.parts import ScimAccount
from tandem_profiles.domain.profile import Profile, ProfileChange, set_scim_account
from tandem_profiles.domain.scim.errors import ScimError
from tandem_profiles.domain.scim.groups import GROUP_RESOURCE, group_from_scim, normalise_group
from tandem_profiles.domain.scim.patch import apply_patch
from tandem_profiles.domain.scim.users import (
    USER_RESOURCE,
    HrEvent,
    hr_events,
    normalise_user,
    user_name,
    user_resource,
)
from tandem_profiles.service_layer.profiles import apply_hr_change, mutate_profile, sync_groups
from tandem_profiles.service_layer.unit_of_work import LoadedGroup, LoadedProfile, UnitOfWork

__all__ = [
    "DELETED_BY",
    "MAX_USER_JSON",
    "create_group",
    "create_user",
    "delete_group",
    "delete_user",
    "existing_group",
    "existing_user",
    "is_visible",
    "patch_group",
    "patch_user",
    "replace_group",
    "replace_user",
]

DELETED_BY: Final = "scim-delete:"
MAX_USER_JSON: Final = 32_768


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_visible(profile: Profile | None) -> bool:
    """Known, not erased, and not deleted through SCIM (and not re-created since)."""
    if profile is None or not profile.known or profile.status == "erased":
        return False
    return not (profile.status == "inactive" and profile.left[1].startswith(DELETED_BY))


def check_version(revision: int, if_match: str | None) -> None:
    """``If-Match`` (RFC 7644 §3.14): 412 when the resource changed since that version."""
    if if_match is not None and if_match.strip() != "*":
        wanted = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
        if f'"{revision}"' not in wanted:
            raise ScimError(412, "the resource changed since that version (If-Match)")


async def existing_user(uow: UnitOfWork, user_id: str) -> LoadedProfile:
    loaded = await uow.profiles.load(user_id)
    if loaded is None or not is_visible(loaded.profile):
        raise ScimError(404, "User not found")
    return loaded


def _rendered(loaded: LoadedProfile) -> dict[str, Any]:
    return user_resource(loaded.profile, location="", revision=loaded.revision)


def _name_lock(name: str | None) -> AbstractAsyncContextManager[None]:
    return keyed_lock(f"scim-user-name:{(name or '').lower()}")


async def _check_user_name_free(uow: UnitOfWork, name: str, employee_id: str) -> None:
    for other in await uow.profiles.find_by_user_name(name):
        if other.profile.employee_id != employee_id and is_visible(other.profile):
            raise ScimError(409, "userName is already taken", "uniqueness")


def _account(desired: Mapping[str, Any]) -> ScimAccount:
    if len(json.dumps(desired, default=str)) > MAX_USER_JSON:
        raise ScimError(400, f"the User is larger than {MAX_USER_JSON} bytes of JSON", "invalidValue")
    name = user_name(desired)
    assert name is not None  # hr_events refused a User without one
    return ScimAccount(name, {key: value for key, value in desired.items() if key not in ("id", "meta")})


async def _write_user(
    uow: UnitOfWork, employee_id: str, events: list[HrEvent], account: ScimAccount, *, deleting: bool = False
) -> LoadedProfile:
    """Each event through the ``hr.employees`` use case, keeping SCIM's account on the same write."""

    def keep(profile: Profile) -> Profile:
        return set_scim_account(profile, account)

    for event in events:
        event_id = f"{DELETED_BY}{uuid.uuid4()}" if deleting else str(uuid.uuid4())
        await apply_hr_change(event, event_id=event_id, time=uow.clock(), uow=uow, then=keep)
    if not events:  # only SCIM's own attributes changed: stored, nothing published

        def decide(profile: Profile | None) -> ProfileChange | None:
            return None if profile is None else ProfileChange(keep(profile), None)

        await mutate_profile(uow, employee_id, decide, caused_by=None)
    loaded = await uow.profiles.load(employee_id)
    assert loaded is not None
    return loaded


async def create_user(uow: UnitOfWork, body: Mapping[str, Any]) -> LoadedProfile:
    """Create (or re-hire) an employee: ``id`` = ``externalId`` when given, else a new id."""
    user = normalise_user(body)
    employee_id = user.get("externalId") or str(uuid.uuid4())
    if not isinstance(employee_id, str) or not employee_id.strip():
        raise ScimError(400, "externalId must be a non-empty string", "invalidValue")
    employee_id = employee_id.strip()
    # The checks and the write in one piece per id and per name (in this process; the store has
    # no unique index on userName, see the report on replicas).
    async with keyed_lock(f"scim-user:{employee_id}"), _name_lock(user_name(user)):
        existing = await uow.profiles.load(employee_id)
        if existing is not None and is_visible(existing.profile) and existing.profile.status == "active":
            raise ScimError(409, "a User with this externalId already exists", "uniqueness")
        name = user_name(user)
        if name is not None:
            await _check_user_name_free(uow, name, employee_id)
        current = _rendered(existing) if existing is not None and is_visible(existing.profile) else None
        desired = user if current is None or "active" in user else user | {"active": True}
        events = hr_events(employee_id, current=current, desired=desired)
        await _write_user(uow, employee_id, events, _account(desired))
    await sync_groups(employee_id, uow=uow)  # groups may list the employee before the User exists
    loaded = await uow.profiles.load(employee_id)
    assert loaded is not None
    return loaded


async def _change_user(
    uow: UnitOfWork, loaded: LoadedProfile, desired: dict[str, Any], if_match: str | None
) -> LoadedProfile:
    check_version(loaded.revision, if_match)
    employee_id = loaded.profile.employee_id
    current = _rendered(loaded)
    if current.get("externalId") is not None:
        if desired.get("externalId") not in (None, current["externalId"]):
            raise ScimError(400, "externalId is immutable once set", "mutability")
        desired = desired | {"externalId": current["externalId"]}
    events = hr_events(employee_id, current=current, desired=desired)
    name = user_name(desired)
    async with _name_lock(name):
        if name is not None and name.lower() != loaded.profile.scim_user_name.lower():
            await _check_user_name_free(uow, name, employee_id)
        return await _write_user(uow, employee_id, events, _account(desired))


async def replace_user(
    uow: UnitOfWork, user_id: str, body: Mapping[str, Any], *, if_match: str | None = None
) -> LoadedProfile:
    """Replace the User (Okta's update); an absent ``active`` leaves the status as it is."""
    loaded = await existing_user(uow, user_id)
    return await _change_user(uow, loaded, normalise_user(body), if_match)


async def patch_user(
    uow: UnitOfWork, user_id: str, body: Mapping[str, Any], *, if_match: str | None = None
) -> LoadedProfile:
    loaded = await existing_user(uow, user_id)
    desired = apply_patch(_rendered(loaded), body, USER_RESOURCE)
    return await _change_user(uow, loaded, desired, if_match)


async def delete_user(uow: UnitOfWork, user_id: str, *, if_match: str | None = None) -> None:
    """Deactivate (``hr.employee.left``), not erase: the retention job erases later."""
    loaded = await existing_user(uow, user_id)
    check_version(loaded.revision, if_match)
    account = loaded.profile.scim or ScimAccount(loaded.profile.scim_user_name)
    await _write_user(uow, user_id, [EmployeeLeft(employee_id=user_id)], account, deleting=True)


# --- groups ----------------------------------------------------------------------------------


async def existing_group(uow: UnitOfWork, group_id: str) -> LoadedGroup:
    loaded = await uow.groups.load(group_id)
    if loaded is None:
        raise ScimError(404, "Group not found")
    return loaded


async def _check_group_name_free(uow: UnitOfWork, group: Group) -> None:
    for other in await uow.groups.find_by_display_name(group.display_name):
        if other.group.group_id != group.group_id:
            raise ScimError(409, "a Group with this displayName already exists", "uniqueness")


async def _sync_members(uow: UnitOfWork, before: Group | None, after: Group | None) -> None:
    for employee_id in sorted(changed_members(before, after)):
        await sync_groups(employee_id, uow=uow)


async def create_group(uow: UnitOfWork, body: Mapping[str, Any]) -> LoadedGroup:
    now = _stamp(uow.clock())
    group = group_from_scim(normalise_group(body), group_id=str(uuid.uuid4()), created=now, now=now)
    async with keyed_lock(f"scim-group-name:{group.display_name.lower()}"):
        await _check_group_name_free(uow, group)
        if not await uow.groups.create(group):
            raise ScimError(409, "a Group with this id already exists", "uniqueness")
    await _sync_members(uow, None, group)
    return LoadedGroup(group, 1)


async def _save_group(uow: UnitOfWork, loaded: LoadedGroup, desired: Mapping[str, Any]) -> LoadedGroup:
    before = loaded.group
    if desired.get("externalId") is not None and before.external_id not in (None, desired["externalId"]):
        raise ScimError(400, "externalId cannot change", "mutability")
    group = group_from_scim(
        {"externalId": before.external_id} | dict(desired),
        group_id=before.group_id,
        created=before.created,
        now=_stamp(uow.clock()),
    )
    async with keyed_lock(f"scim-group-name:{group.display_name.lower()}"):
        await _check_group_name_free(uow, group)
        if not await uow.groups.save(group, revision=loaded.revision):
            raise Retry  # another replica wrote it since it was read
    await _sync_members(uow, before, group)
    return LoadedGroup(group, loaded.revision + 1)


def _group_json(loaded: LoadedGroup) -> dict[str, Any]:
    group = loaded.group
    return {
        "id": group.group_id,
        "displayName": group.display_name,
        "externalId": group.external_id,
        "members": [
            {"value": m.value} | ({"display": m.display} if m.display else {}) for m in group.members
        ],
    }


async def _change_group(
    uow: UnitOfWork, group_id: str, change: Callable[[LoadedGroup], Mapping[str, Any]], if_match: str | None
) -> LoadedGroup:
    """Read, change and write the group; redone when a concurrent write got in first (identity
    providers send member PATCHes of one group in parallel)."""

    async def attempt() -> LoadedGroup:
        loaded = await existing_group(uow, group_id)
        check_version(loaded.revision, if_match)
        return await _save_group(uow, loaded, change(loaded))

    async with keyed_lock(f"scim-group:{group_id}"):
        return await retry_on_conflict(attempt, what=f"group {group_id}")


async def replace_group(
    uow: UnitOfWork, group_id: str, body: Mapping[str, Any], *, if_match: str | None = None
) -> LoadedGroup:
    return await _change_group(uow, group_id, lambda _: normalise_group(body), if_match)


async def patch_group(
    uow: UnitOfWork, group_id: str, body: Mapping[str, Any], *, if_match: str | None = None
) -> LoadedGroup:
    """PATCH, e.g. Entra ID's and Okta's ``add``/``remove`` of ``members``."""

    def patched(loaded: LoadedGroup) -> Mapping[str, Any]:
        return apply_patch(_group_json(loaded), body, GROUP_RESOURCE)

    return await _change_group(uow, group_id, patched, if_match)


async def delete_group(uow: UnitOfWork, group_id: str, *, if_match: str | None = None) -> None:
    async with keyed_lock(f"scim-group:{group_id}"):
        loaded = await existing_group(uow, group_id)
        check_version(loaded.revision, if_match)
        await uow.groups.delete(group_id)
    await _sync_members(uow, loaded.group, None)
