"""SCIM Users as ``hr.employees`` events, and profiles as SCIM Users. Pure.

A SCIM write is translated into the very contract events an HR system would publish, so it has
exactly the same effect. Mapping decisions:

- ``id`` is the employee id: a create takes ``externalId`` as the employee id when given, else
  generates one. ``externalId`` is immutable once set (RFC 7643 §3.1: the provider's own id, set
  once); a profile HR created without SCIM shows its employee id there.
- ``userName`` is any unique string (RFC 7643 §4.1.1). The email is the primary address of
  ``emails``, else the ``work`` one, else the first, else ``userName`` when it is an email; a
  user with none is provisioned without one.
- ``displayName`` (else ``name.formatted``, else ``givenName familyName``, else ``userName``) is
  the display name; ``title`` the job title; ``timezone`` the timezone; the 2-letter prefix of
  ``preferredLanguage`` (else ``locale``) the language; the locality (else formatted text) of the
  primary, else work, else first address the location; the enterprise extension's
  ``department`` and ``manager`` (``{"value": id}`` or, as Entra ID sends it, the bare id) the
  department and manager id.
- ``active: false`` is ``hr.employee.left``; ``active: true`` on an inactive user is
  ``hr.employee.joined`` (a re-hire). A create sends every contract field (as a joined event
  on the wire does); later writes send only the attributes whose mapped value changes, so
  fields SCIM cannot carry (level, start date) survive a re-hire.
- The User as sent is kept beside the profile (``ScimAccount``) so it reads back as written;
  the profile is the truth for every mapped attribute.
"""

import re
from collections.abc import Mapping
from typing import Any, Final, TypeAlias

from pydantic import ValidationError
from tandem_contracts import EmployeeJoined, EmployeeLeft, EmployeeUpdated
from tandem_contracts.hr import HR_FIELDS

from tandem_profiles.domain.profile import Profile
from tandem_profiles.domain.scim.attributes import (
    ENTERPRISE,
    ENTERPRISE_SCHEMA,
    USER,
    USER_SCHEMA,
    canonical_value,
)
from tandem_profiles.domain.scim.errors import ScimError, excerpt
from tandem_profiles.domain.scim.patch import Resource

__all__ = [
    "USER_RESOURCE",
    "HrEvent",
    "hr_events",
    "hr_values",
    "is_active",
    "normalise_user",
    "user_name",
    "user_resource",
]

HrEvent: TypeAlias = EmployeeJoined | EmployeeUpdated | EmployeeLeft
User: TypeAlias = dict[str, Any]
_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+$")
USER_RESOURCE: Final = Resource(
    USER,
    ENTERPRISE,
    multi_valued=frozenset(
        {
            "emails",
            "phoneNumbers",
            "ims",
            "photos",
            "addresses",
            "groups",
            "entitlements",
            "roles",
            "x509Certificates",
        }
    ),
    required=frozenset({"userName"}),
)
_FIELD_ATTRIBUTE: Final = {
    "employee_id": "externalId",
    "email": "emails",
    "display_name": "displayName",
    "job_title": "title",
    "timezone": "timezone",
    "languages": "preferredLanguage",
    "location": "addresses",
    "department": f"{ENTERPRISE_SCHEMA}:department",
    "manager_id": f"{ENTERPRISE_SCHEMA}:manager",
}


def normalise_user(body: Mapping[str, Any]) -> User:
    """A User as sent, with the schemas' attribute spellings."""
    user: User = {}
    for key, value in body.items():
        if key.lower() == ENTERPRISE_SCHEMA.lower():
            if not isinstance(value, Mapping):
                raise ScimError(400, f"{ENTERPRISE_SCHEMA} must be an object", "invalidSyntax")
            user[ENTERPRISE_SCHEMA] = {
                ENTERPRISE.canonical(name): canonical_value(item) for name, item in value.items()
            }
        else:
            user[USER.canonical(key)] = value if key.lower() == "schemas" else canonical_value(value)
    return user


# --- SCIM User -> contract fields -----------------------------------------------------------


def _text(value: Any) -> Any:
    """Empty strings are unassigned; other non-strings are left for the contract to refuse."""
    if isinstance(value, str):
        return value.strip() or None
    return value


def _complex(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _chosen(items: Any) -> Mapping[str, Any] | None:
    """The primary value of a multi-valued attribute, else the ``work`` one, else the first."""
    if isinstance(items, Mapping):
        items = [items]
    candidates = [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []
    return (
        next((item for item in candidates if item.get("primary") in (True, "true", "True")), None)
        or next((item for item in candidates if str(item.get("type", "")).lower() == "work"), None)
        or (candidates[0] if candidates else None)
    )


def user_name(user: Mapping[str, Any]) -> str | None:
    name = _text(user.get("userName"))
    return name if isinstance(name, str) else None


def _email(user: Mapping[str, Any]) -> Any:
    chosen = _chosen(user.get("emails"))
    if chosen is not None and _text(chosen.get("value")) is not None:
        return _text(chosen.get("value"))
    name = user_name(user)
    return name if name is not None and _EMAIL.match(name) else None


def _display_name(user: Mapping[str, Any]) -> Any:
    name = _complex(user.get("name"))
    parts = (_text(name.get("givenName")), _text(name.get("familyName")))
    given = " ".join(part for part in parts if isinstance(part, str))
    return _text(user.get("displayName")) or _text(name.get("formatted")) or given or user_name(user)


def _language(user: Mapping[str, Any]) -> list[str] | None:
    for attribute in ("preferredLanguage", "locale"):
        value = user.get(attribute)
        if isinstance(value, str):
            code = re.split(r"[-_,;\s]", value.strip(), maxsplit=1)[0]
            if re.fullmatch(r"[A-Za-z]{2}", code):
                return [code.lower()]
    return None


def _location(user: Mapping[str, Any]) -> Any:
    chosen = _chosen(user.get("addresses"))
    if chosen is None:
        return None
    return _text(chosen.get("locality")) or _text(chosen.get("formatted"))


def _manager(value: Any) -> Any:
    if isinstance(value, Mapping):  # {"value": "<id>", "$ref": ..., "displayName": ...}
        value = value.get("value")
    return _text(value)  # Entra ID sends the manager's id as a bare string


def hr_values(user: Mapping[str, Any]) -> dict[str, Any]:
    """The ``hr.employees`` fields a (normalised) SCIM User carries; ``None``: unassigned."""
    enterprise = _complex(user.get(ENTERPRISE_SCHEMA))
    return {
        "email": _email(user),
        "display_name": _display_name(user),
        "job_title": _text(user.get("title")),
        "timezone": _text(user.get("timezone")),
        "languages": _language(user),
        "location": _location(user),
        "department": _text(enterprise.get("department")),
        "manager_id": _manager(enterprise.get("manager")),
    }


def is_active(user: Mapping[str, Any]) -> bool | None:
    value = user.get("active")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"  # Entra ID has sent booleans as strings
    raise ScimError(400, f"active must be a boolean, not {excerpt(value)}", "invalidValue")


def _short(message: str) -> str:
    """A validator's message, which may quote the value, cut to a short prefix."""
    return message if len(message) <= 120 else f"{message[:120]}…"


def _contract(model: type[HrEvent], **fields: Any) -> HrEvent:
    try:
        return model(**fields)
    except ValidationError as error:
        problems = "; ".join(
            f"{_FIELD_ATTRIBUTE.get(str(problem['loc'][0]), problem['loc'][0])}: {_short(problem['msg'])}"
            if problem["loc"]
            else _short(problem["msg"])
            for problem in error.errors(include_input=False, include_context=False)
        )
        raise ScimError(400, problems, "invalidValue") from error


def hr_events(
    employee_id: str, *, current: Mapping[str, Any] | None, desired: Mapping[str, Any]
) -> list[HrEvent]:
    """The ``hr.employees`` events that turn ``current`` (a User as rendered, ``None``: none yet)
    into ``desired``. An absent ``active`` keeps the current state (true for a new user).
    """
    if user_name(desired) is None:
        raise ScimError(400, "userName is required (a non-empty string)", "invalidValue")
    values = hr_values(desired)
    wanted_active = is_active(desired)
    if current is None:
        # Every field set, as a joined event arrives from Kafka: unmapped ones (level,
        # start_date) are unassigned, exactly as an HR system that does not send them.
        given = dict.fromkeys(HR_FIELDS) | values
        events = [_contract(EmployeeJoined, employee_id=employee_id, **given)]
        if wanted_active is False:
            events.append(_contract(EmployeeLeft, employee_id=employee_id))
        return events
    before = hr_values(current)
    # Compare mapped values of both sides, so attributes the rendering cannot carry in full
    # (e.g. several languages behind one preferredLanguage) change only when they are touched.
    changed = {name: value for name, value in values.items() if value != before[name]}
    active_now = current.get("active") is True
    events = []
    if not active_now and wanted_active:
        required = {"display_name": values["display_name"]}
        if values["email"] is not None:
            required["email"] = values["email"]
        events.append(_contract(EmployeeJoined, employee_id=employee_id, **(changed | required)))
    elif changed:
        events.append(_contract(EmployeeUpdated, employee_id=employee_id, **changed))
    if active_now and wanted_active is False:
        events.append(_contract(EmployeeLeft, employee_id=employee_id))
    return events


# --- profile -> SCIM User ------------------------------------------------------------------


_CARRIES: Final = {  # attribute -> the HR field it carries
    "displayName": "display_name",
    "title": "job_title",
    "timezone": "timezone",
    "preferredLanguage": "languages",
    "emails": "email",
    "addresses": "location",
    "department": "department",
    "manager": "manager_id",
}


_NOT_KEPT: Final = ("schemas", "id", "meta", "password", "groups", "userName", "active")


def _mapped(profile: Profile) -> User:
    """The User attributes that carry the profile's HR fields (enterprise ones by bare name)."""
    hr = profile.hr
    return {
        "displayName": hr.display_name,
        "title": hr.job_title,
        "timezone": hr.timezone,
        "preferredLanguage": (hr.languages or (None,))[0],
        "emails": [{"value": hr.email, "type": "work", "primary": True}] if hr.email else None,
        "addresses": [{"type": "work", "locality": hr.location, "primary": True}] if hr.location else None,
        "department": hr.department,
        "manager": {"value": hr.manager_id} if hr.manager_id else None,
    }


def _carried(attribute: str, value: Any) -> Any:
    if attribute in ("department", "manager"):
        return hr_values({ENTERPRISE_SCHEMA: {attribute: value}})[_CARRIES[attribute]]
    return hr_values({attribute: value})[_CARRIES[attribute]]


def _overlay(sent: Mapping[str, Any], profile: Profile) -> User:
    """What was sent, except where it no longer says what the profile holds."""
    user = {key: value for key, value in sent.items() if key not in _NOT_KEPT}
    enterprise = dict(_complex(user.pop(ENTERPRISE_SCHEMA, None)))
    for attribute, value in _mapped(profile).items():
        if attribute == "displayName":
            continue  # below
        target = enterprise if attribute in ("department", "manager") else user
        if _carried(attribute, target.get(attribute)) != _carried(attribute, value):
            target[attribute] = value
    display = profile.hr.display_name
    # A display name that only repeats the userName (its last fallback) is not shown, so a
    # removed displayName reads back as removed.
    if display is not None and not (_display_name(user) is None and display == profile.scim_user_name):
        user["displayName"] = display
    enterprise = {key: value for key, value in enterprise.items() if value is not None}
    if enterprise:
        user[ENTERPRISE_SCHEMA] = enterprise
    return {key: value for key, value in user.items() if value is not None}


def user_resource(profile: Profile, *, location: str, revision: int) -> User:
    """The profile as a SCIM User; unassigned attributes are left out."""
    sent = dict(profile.scim.attributes) if profile.scim else {}
    user: User = {  # None: left out below
        "schemas": [USER_SCHEMA],
        "id": profile.employee_id,
        "externalId": None if profile.scim else profile.employee_id,
        "userName": profile.scim_user_name,
        **_overlay(sent, profile),
        "active": profile.status == "active",
    }
    if profile.groups:
        user["groups"] = [{"value": group_id} for group_id in profile.groups]
    if ENTERPRISE_SCHEMA in user:
        user["schemas"].append(ENTERPRISE_SCHEMA)
    stamps = (*profile.hr_stamps.values(), profile.joined, profile.left)
    times = [stamp[0] for stamp in stamps if stamp[0]]
    meta = {
        "resourceType": "User",
        "created": profile.joined[0] or None,
        "lastModified": max(times) if times else None,
        "location": location,
        "version": f'W/"{revision}"',
    }
    user["meta"] = {key: value for key, value in meta.items() if value is not None}
    return {key: value for key, value in user.items() if value is not None}
