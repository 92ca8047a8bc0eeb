"""SCIM Groups (RFC 7643 §4.2) as :class:`Group` and back. Pure."""

from collections.abc import Mapping
from typing import Any, Final

from tandem_profiles.domain.groups import Group, Member
from tandem_profiles.domain.scim.attributes import GROUP, GROUP_SCHEMA, canonical_value
from tandem_profiles.domain.scim.errors import ScimError, excerpt
from tandem_profiles.domain.scim.patch import Resource

__all__ = ["GROUP_RESOURCE", "group_from_scim", "group_resource", "member_json", "normalise_group"]

GROUP_RESOURCE: Final = Resource(
    GROUP, multi_valued=frozenset({"members"}), required=frozenset({"displayName"})
)
MAX_MEMBERS: Final = 20_000


def normalise_group(body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        GROUP.canonical(key): value if key.lower() == "schemas" else canonical_value(value)
        for key, value in body.items()
    }


def _member(item: Any) -> Member:
    if not isinstance(item, Mapping) or not isinstance(item.get("value"), str) or not item["value"].strip():
        raise ScimError(400, f"a member needs a string value, not {excerpt(item)}", "invalidValue")
    display, kind = item.get("display"), item.get("type")
    return Member(
        item["value"].strip(),
        display if isinstance(display, str) else None,
        kind if isinstance(kind, str) else None,
    )


def group_from_scim(group: Mapping[str, Any], *, group_id: str, created: str, now: str) -> Group:
    """The group a (normalised) SCIM Group body describes."""
    name = group.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise ScimError(400, "displayName is required (a non-empty string)", "invalidValue")
    if len(name) > 256:
        raise ScimError(400, "displayName is longer than 256 characters", "invalidValue")
    external_id = group.get("externalId")
    if external_id is not None and not isinstance(external_id, str):
        raise ScimError(400, "externalId must be a string", "invalidValue")
    raw_members = group.get("members") or []
    if not isinstance(raw_members, list) or len(raw_members) > MAX_MEMBERS:
        raise ScimError(400, f"members must be a list of at most {MAX_MEMBERS}", "invalidValue")
    members = {member.value: member for member in map(_member, raw_members)}  # one entry per member
    return Group(
        group_id=group_id,
        display_name=name.strip(),
        external_id=external_id,
        members=tuple(members.values()),
        created=created,
        last_modified=now,
    )


def member_json(member: Member) -> dict[str, str]:
    """A member as sent: ``value``, and ``display`` and ``type`` when given."""
    given = {"value": member.value, "display": member.display, "type": member.type}
    return {key: value for key, value in given.items() if value is not None}


def group_resource(group: Group, *, location: str, revision: int) -> dict[str, Any]:
    """The group as a SCIM Group."""
    resource: dict[str, Any] = {
        "schemas": [GROUP_SCHEMA],
        "id": group.group_id,
        "displayName": group.display_name,
        "members": [member_json(member) for member in group.members],
        "meta": {
            "resourceType": "Group",
            "created": group.created,
            "lastModified": group.last_modified,
            "location": location,
            "version": f'W/"{revision}"',
        },
    }
    if group.external_id is not None:
        resource["externalId"] = group.external_id
    if not resource["members"]:
        del resource["members"]
    return resource
