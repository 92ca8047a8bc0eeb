"""SCIM 2.0 Users (RFC 7643/7644) as ``hr.employees`` events, and profiles as SCIM Users. Pure.

A SCIM write is translated into the very contract events an HR system would publish, so it has
exactly the same effect. Mapping decisions:

- ``id`` and ``externalId`` are both the employee id: a create takes ``externalId`` as the
  employee id when given, else generates one; ``externalId`` is therefore immutable.
- ``userName`` is the employee's email (so it must be an email address); ``displayName`` (else
  ``name.formatted``, else ``givenName familyName``, else ``userName``) the display name;
  ``title`` the job title; ``timezone`` the timezone; the 2-letter prefix of
  ``preferredLanguage`` (else ``locale``) the language; the locality (else formatted text) of the
  primary, else work, else first address the location; the enterprise extension's
  ``department`` and ``manager.value`` the department and manager id.
- ``active: false`` is ``hr.employee.left``; ``active: true`` on an inactive user is
  ``hr.employee.joined`` (a re-hire). A create sends every contract field (as a joined event
  on the wire does); later writes send only the attributes whose mapped value changes, so
  fields SCIM cannot carry (level, start date) survive a re-hire.
- DELETE is ``hr.employee.left`` whose event id starts with ``DELETED_BY``: the profile is
  deactivated (erased later by the retention job), and SCIM treats it as gone (404, not listed)
  until it is created again.
"""

import copy
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from pydantic import ValidationError
from tandem_contracts import EmployeeJoined, EmployeeLeft, EmployeeUpdated
from tandem_contracts.hr import HR_FIELDS

from tandem_profiles.domain.profile import Profile

__all__ = [
    "DELETED_BY",
    "ENTERPRISE_SCHEMA",
    "ERROR_SCHEMA",
    "LIST_SCHEMA",
    "PATCH_SCHEMA",
    "USER_SCHEMA",
    "HrEvent",
    "ScimError",
    "apply_patch",
    "delete_event_id",
    "hr_events",
    "hr_values",
    "is_deleted",
    "normalise_user",
    "parse_filter",
    "user_resource",
]

USER_SCHEMA: Final = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA: Final = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_SCHEMA: Final = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA: Final = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA: Final = "urn:ietf:params:scim:api:messages:2.0:Error"
DELETED_BY: Final = "scim-delete:"

HrEvent: TypeAlias = EmployeeJoined | EmployeeUpdated | EmployeeLeft

_CORE = [
    "schemas",
    "id",
    "externalId",
    "meta",
    "userName",
    "name",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "active",
    "password",
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
]
_ENTERPRISE = ["employeeNumber", "costCenter", "organization", "division", "department", "manager"]
_SUB = [
    "value",
    "display",
    "type",
    "primary",
    "$ref",
    "formatted",
    "familyName",
    "givenName",
    "middleName",
    "honorificPrefix",
    "honorificSuffix",
    "streetAddress",
    "locality",
    "region",
    "postalCode",
    "country",
    "displayName",
]
_MULTI_VALUED = frozenset(
    [
        "emails",
        "phoneNumbers",
        "ims",
        "photos",
        "addresses",
        "groups",
        "entitlements",
        "roles",
        "x509Certificates",
    ]
)
_READ_ONLY = frozenset({"id", "meta", "schemas", "groups"})
_FIELD_ATTRIBUTE = {
    "employee_id": "externalId",
    "email": "userName",
    "display_name": "displayName",
    "job_title": "title",
    "timezone": "timezone",
    "languages": "preferredLanguage",
    "location": "addresses",
    "department": f"{ENTERPRISE_SCHEMA}:department",
    "manager_id": f"{ENTERPRISE_SCHEMA}:manager",
}


class ScimError(Exception):
    """A request SCIM refuses; rendered with the SCIM error schema (RFC 7644 §3.12)."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type


def _canonical(name: str, known: list[str]) -> str:
    """Attribute names are case-insensitive (RFC 7643 §2.1): use the schema's spelling."""
    lowered = name.lower()
    return next((spelling for spelling in known if spelling.lower() == lowered), name)


def _canonical_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {_canonical(key, _SUB): item for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical_value(item) for item in value]
    return value


def normalise_user(body: Mapping[str, Any]) -> dict[str, Any]:
    """A User as sent, with the schemas' attribute spellings."""
    user: dict[str, Any] = {}
    for key, value in body.items():
        if key.lower() == ENTERPRISE_SCHEMA.lower():
            if not isinstance(value, Mapping):
                raise ScimError(400, f"{ENTERPRISE_SCHEMA} must be an object", "invalidSyntax")
            user[ENTERPRISE_SCHEMA] = {
                _canonical(name, _ENTERPRISE): _canonical_value(item) for name, item in value.items()
            }
        else:
            user[_canonical(key, _CORE)] = value if key.lower() == "schemas" else _canonical_value(value)
    return user


# --- SCIM User -> contract fields -----------------------------------------------------------


def _text(value: Any) -> Any:
    """Empty strings are unassigned; other non-strings are left for the contract to refuse."""
    if isinstance(value, str):
        return value.strip() or None
    return value


def _complex(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _display_name(user: Mapping[str, Any]) -> Any:
    name = _complex(user.get("name"))
    parts = (_text(name.get("givenName")), _text(name.get("familyName")))
    given = " ".join(part for part in parts if isinstance(part, str))
    return (
        _text(user.get("displayName")) or _text(name.get("formatted")) or given or _text(user.get("userName"))
    )


def _language(user: Mapping[str, Any]) -> list[str] | None:
    for attribute in ("preferredLanguage", "locale"):
        value = user.get(attribute)
        if isinstance(value, str):
            code = re.split(r"[-_,;\s]", value.strip(), maxsplit=1)[0]
            if re.fullmatch(r"[A-Za-z]{2}", code):
                return [code.lower()]
    return None


def _location(user: Mapping[str, Any]) -> Any:
    addresses = user.get("addresses")
    if isinstance(addresses, Mapping):
        addresses = [addresses]
    if not isinstance(addresses, list):
        return None
    candidates = [address for address in addresses if isinstance(address, Mapping)]
    chosen = (
        next((a for a in candidates if a.get("primary") is True), None)
        or next((a for a in candidates if str(a.get("type", "")).lower() == "work"), None)
        or (candidates[0] if candidates else None)
    )
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
        "email": _text(user.get("userName")),
        "display_name": _display_name(user),
        "job_title": _text(user.get("title")),
        "timezone": _text(user.get("timezone")),
        "languages": _language(user),
        "location": _location(user),
        "department": _text(enterprise.get("department")),
        "manager_id": _manager(enterprise.get("manager")),
    }


def _active(user: Mapping[str, Any]) -> bool | None:
    value = user.get("active")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"  # Entra ID has sent booleans as strings
    raise ScimError(400, "active must be a boolean", "invalidValue")


def _contract(
    model: type[EmployeeJoined] | type[EmployeeUpdated] | type[EmployeeLeft], **fields: Any
) -> HrEvent:
    try:
        return model(**fields)
    except ValidationError as error:
        problems = "; ".join(
            f"{_FIELD_ATTRIBUTE.get(str(problem['loc'][0]), problem['loc'][0])}: {problem['msg']}"
            if problem["loc"]
            else problem["msg"]
            for problem in error.errors()
        )
        raise ScimError(400, problems, "invalidValue") from error


def hr_events(
    employee_id: str, *, current: Mapping[str, Any] | None, desired: Mapping[str, Any]
) -> list[HrEvent]:
    """The ``hr.employees`` events that turn ``current`` (a User as rendered, ``None``: none yet)
    into ``desired``. An absent ``active`` keeps the current state (true for a new user).
    """
    values = hr_values(desired)
    if values["email"] is None:
        raise ScimError(400, "userName is required", "invalidValue")
    wanted_active = _active(desired)
    events: list[HrEvent] = []
    if current is None:
        # Every field set, as a joined event arrives from Kafka: unmapped ones (level,
        # start_date) are unassigned, exactly as an HR system that does not send them.
        given = dict.fromkeys(HR_FIELDS) | values
        events.append(_contract(EmployeeJoined, employee_id=employee_id, **given))
        if wanted_active is False:
            events.append(_contract(EmployeeLeft, employee_id=employee_id))
        return events
    before = hr_values(current)
    # Compare mapped values of both sides, so attributes the rendering cannot carry in full
    # (e.g. several languages behind one preferredLanguage) change only when they are touched.
    changed = {name: value for name, value in values.items() if value != before[name]}
    is_active = current.get("active") is True
    events = []
    if not is_active and wanted_active:
        required = {"email": values["email"], "display_name": values["display_name"]}
        events.append(_contract(EmployeeJoined, employee_id=employee_id, **(changed | required)))
    elif changed:
        events.append(_contract(EmployeeUpdated, employee_id=employee_id, **changed))
    if is_active and wanted_active is False:
        events.append(_contract(EmployeeLeft, employee_id=employee_id))
    return events


def delete_event_id() -> str:
    """The event id of the ``hr.employee.left`` a SCIM DELETE becomes."""
    return f"{DELETED_BY}{uuid.uuid4()}"


def is_deleted(profile: Profile) -> bool:
    """Deleted through SCIM (and not re-created since)."""
    return profile.status == "inactive" and profile.left[1].startswith(DELETED_BY)


# --- profile -> SCIM User ------------------------------------------------------------------


def user_resource(profile: Profile, *, location: str) -> dict[str, Any]:
    """The profile as a SCIM User; unassigned attributes are left out."""
    hr = profile.hr
    user: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "id": profile.employee_id,
        "externalId": profile.employee_id,
        "userName": hr.get("email"),
        "displayName": hr.get("display_name"),
        "title": hr.get("job_title"),
        "timezone": hr.get("timezone"),
        "preferredLanguage": (hr.get("languages") or [None])[0],
        "active": profile.status == "active",
    }
    if hr.get("email"):
        user["emails"] = [{"value": hr["email"], "type": "work", "primary": True}]
    if hr.get("location"):
        user["addresses"] = [{"type": "work", "locality": hr["location"], "primary": True}]
    enterprise = {"department": hr.get("department")}
    if hr.get("manager_id"):
        enterprise["manager"] = {"value": hr["manager_id"]}
    enterprise = {key: value for key, value in enterprise.items() if value is not None}
    if enterprise:
        user["schemas"].append(ENTERPRISE_SCHEMA)
        user[ENTERPRISE_SCHEMA] = enterprise
    stamps = (*profile.hr_stamps.values(), profile.joined, profile.left)
    times = [stamp[0] for stamp in stamps if stamp[0]]
    user["meta"] = {
        "resourceType": "User",
        "created": profile.joined[0] or None,
        "lastModified": max(times) if times else None,
        "location": location,
        "version": f'W/"{profile.published_version}"',
    }
    user["meta"] = {key: value for key, value in user["meta"].items() if value is not None}
    return {key: value for key, value in user.items() if value is not None}


# --- filters and PATCH paths ---------------------------------------------------------------

_VALUE = r'"(?:[^"\\]|\\.)*"|true|false|null|-?\d+(?:\.\d+)?'
_COMPARISON = re.compile(rf"^\s*([A-Za-z$][\w$.:-]*)\s+(eq)\s+({_VALUE})\s*$", re.IGNORECASE)
_FILTERABLE = {"username": "userName", "externalid": "externalId", "id": "id"}


def _literal(text: str) -> Any:
    if text.startswith('"'):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    return float(text) if "." in text else int(text)


def parse_filter(text: str) -> tuple[str, str]:
    """``userName eq "…"``, ``externalId eq "…"`` or ``id eq "…"`` as (attribute, value)."""
    match = _COMPARISON.match(text)
    attribute = match.group(1).lower().removeprefix(USER_SCHEMA.lower() + ":") if match else ""
    if not match or attribute not in _FILTERABLE or not match.group(3).startswith('"'):
        raise ScimError(
            400, 'supported filters: userName eq "…", externalId eq "…", id eq "…"', "invalidFilter"
        )
    return _FILTERABLE[attribute.lower()], _literal(match.group(3))


@dataclass(frozen=True)
class _Path:
    extension: bool
    attribute: str
    selector: tuple[str, Any] | None
    sub: str | None


_PATH = re.compile(r"^([A-Za-z$][\w$-]*)(?:\[([^\]]*)\])?(?:\.([A-Za-z$][\w$-]*))?$")


def _parse_path(text: str) -> _Path:
    extension = False
    rest = text.strip()
    for schema in (ENTERPRISE_SCHEMA, USER_SCHEMA):
        if rest.lower().startswith(schema.lower() + ":"):
            extension, rest = schema == ENTERPRISE_SCHEMA, rest[len(schema) + 1 :]
            break
    match = _PATH.match(rest)
    if not match or rest.lower().startswith("urn:"):
        raise ScimError(400, f"unsupported path {text!r}", "invalidPath")
    attribute = _canonical(match.group(1), _ENTERPRISE if extension else _CORE)
    selector = None
    if match.group(2) is not None:
        comparison = _COMPARISON.match(match.group(2))
        if not comparison or attribute not in _MULTI_VALUED:
            raise ScimError(400, f"unsupported value filter in path {text!r}", "invalidFilter")
        selector = (_canonical(comparison.group(1), _SUB), _literal(comparison.group(3)))
    sub = _canonical(match.group(3), _SUB) if match.group(3) else None
    return _Path(extension, attribute, selector, sub)


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower()
    return bool(left == right)


def _apply(user: dict[str, Any], op: str, path_text: str, value: Any) -> None:
    path = _parse_path(path_text)
    if op != "remove" and value is None:
        op = "remove"  # null is "unassigned" (RFC 7643 §2.5)
    value = _canonical_value(value)
    if not path.extension and path.attribute in _READ_ONLY:
        if path.selector is None and path.sub is None and value == user.get(path.attribute):
            return
        raise ScimError(400, f"{path.attribute} is read-only", "mutability")
    if not path.extension and path.attribute == "externalId":
        if op != "remove" and value == user.get("externalId"):
            return
        raise ScimError(400, "externalId is the employee id and cannot change", "mutability")
    if not path.extension and path.attribute == "userName" and op == "remove":
        raise ScimError(400, "userName is required", "mutability")
    container = user.setdefault(ENTERPRISE_SCHEMA, {}) if path.extension else user
    name = path.attribute
    if name in _MULTI_VALUED:
        _apply_multi(container, op, path, value)
    elif path.sub is not None:
        current = container.get(name)
        complex_value = dict(current) if isinstance(current, Mapping) else {}
        if op == "remove":
            complex_value.pop(path.sub, None)
        else:
            complex_value[path.sub] = value
        container[name] = complex_value
        if not complex_value:
            del container[name]
    elif op == "remove":
        container.pop(name, None)
    elif isinstance(value, Mapping) and isinstance(container.get(name), Mapping):
        container[name] = {**container[name], **value}  # sub-attributes not given stay
    else:
        container[name] = value
    if path.extension and not user[ENTERPRISE_SCHEMA]:
        del user[ENTERPRISE_SCHEMA]


def _apply_multi(container: dict[str, Any], op: str, path: _Path, value: Any) -> None:
    items = [
        dict(item) if isinstance(item, Mapping) else item for item in container.get(path.attribute) or []
    ]
    if path.selector is not None:
        key, wanted = path.selector
        matched = [
            i for i, item in enumerate(items) if isinstance(item, Mapping) and _same(item.get(key), wanted)
        ]
        if op == "remove":
            if path.sub is None:
                items = [item for i, item in enumerate(items) if i not in matched]
            for i in matched if path.sub is not None else ():
                items[i].pop(path.sub, None)
        elif not matched and op == "replace":
            raise ScimError(400, "no value matches the path's filter", "noTarget")
        elif not matched:
            items.append({key: wanted, path.sub: value} if path.sub else {key: wanted, **_complex(value)})
        for i in matched if op != "remove" else ():
            if path.sub is not None:
                items[i][path.sub] = value
            elif op == "add":
                items[i] = {**items[i], **_complex(value)}
            else:
                items[i] = dict(_complex(value))
    elif path.sub is not None:
        if op == "remove":
            for item in items:
                item.pop(path.sub, None)
        elif items:
            for item in items:
                item[path.sub] = value
        else:
            items = [{path.sub: value}]
    elif op == "remove":
        items = []
    else:
        values = value if isinstance(value, list) else [value]
        items = [*items, *(v for v in values if v not in items)] if op == "add" else list(values)
    container[path.attribute] = items
    if not items:
        del container[path.attribute]


def apply_patch(user: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """Apply an RFC 7644 §3.5.2 PatchOp to a User; all or nothing."""
    if PATCH_SCHEMA not in (body.get("schemas") or []):
        raise ScimError(400, f"schemas must contain {PATCH_SCHEMA}", "invalidSyntax")
    operations = next((v for k, v in body.items() if k.lower() == "operations"), None)
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "Operations must be a non-empty list", "invalidSyntax")
    patched = copy.deepcopy(dict(user))
    for operation in operations:
        if not isinstance(operation, Mapping):
            raise ScimError(400, "each operation must be an object", "invalidSyntax")
        fields = {key.lower(): value for key, value in operation.items()}
        op = str(fields.get("op", "")).lower()  # Entra ID sends "Replace", "Add", "Remove"
        if op not in ("add", "replace", "remove"):
            raise ScimError(400, f"unknown op {fields.get('op')!r}", "invalidSyntax")
        path, value = fields.get("path"), fields.get("value")
        if path is not None and not isinstance(path, str):
            raise ScimError(400, "path must be a string", "invalidPath")
        if path and path.strip().lower() == ENTERPRISE_SCHEMA.lower() and isinstance(value, Mapping):
            for name, sub_value in value.items():
                _apply(patched, op, f"{ENTERPRISE_SCHEMA}:{name}", sub_value)
        elif path:
            _apply(patched, op, path, value)
        elif op == "remove":
            raise ScimError(400, "remove needs a path", "noTarget")
        elif not isinstance(value, Mapping):
            raise ScimError(400, "an operation without a path needs an object value", "invalidValue")
        else:
            for key, item in value.items():
                if key.lower() == ENTERPRISE_SCHEMA.lower() and isinstance(item, Mapping):
                    for name, sub_value in item.items():
                        _apply(patched, op, f"{ENTERPRISE_SCHEMA}:{name}", sub_value)
                elif key.lower() != "schemas":
                    _apply(patched, op, key, item)  # keys may be paths ("name.givenName")
    return patched
