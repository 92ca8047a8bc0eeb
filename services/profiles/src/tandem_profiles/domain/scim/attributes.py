"""The one table of SCIM attributes this service keeps (RFC 7643 §4), and what it drives.

Each :class:`Attribute` says how it is spelled, typed, mutable and returned. The same table gives
the spellings names are normalised to (names are case-insensitive, RFC 7643 §2.1), which
attributes a PATCH may not touch, what ``attributes``/``excludedAttributes`` may leave out, and the
``/Schemas`` documents. Pure.
"""

from dataclasses import dataclass, replace
from typing import Any, Final, Literal

__all__ = [
    "ENTERPRISE",
    "ENTERPRISE_SCHEMA",
    "GROUP",
    "GROUP_SCHEMA",
    "LIST_SCHEMA",
    "PATCH_SCHEMA",
    "SCHEMAS",
    "USER",
    "USER_SCHEMA",
    "Attribute",
    "SchemaTable",
]

USER_SCHEMA: Final = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA: Final = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA: Final = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_SCHEMA: Final = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA: Final = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

Mutability = Literal["readOnly", "readWrite", "immutable", "writeOnly"]
Returned = Literal["always", "never", "default", "request"]


@dataclass(frozen=True)
class Attribute:
    name: str
    description: str
    type: str = "string"
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: Mutability = "readWrite"
    returned: Returned = "default"
    uniqueness: str = "none"
    sub_attributes: tuple["Attribute", ...] = ()
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()

    def to_scim(self) -> dict[str, Any]:
        """The attribute's definition as ``/Schemas`` publishes it (RFC 7643 §7)."""
        definition: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        }
        if self.sub_attributes:
            definition["subAttributes"] = [sub.to_scim() for sub in self.sub_attributes]
        if self.canonical_values:
            definition["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            definition["referenceTypes"] = list(self.reference_types)
        return definition


def _text(name: str, description: str, **options: Any) -> Attribute:
    return Attribute(name, description, **options)


# Real values, so a client filling attributes from the schema sends ones the contract accepts.
_TIMEZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC")
_LANGUAGES = ("en", "de", "fr", "es", "ja")
_KINDS = ("work", "home", "other")


@dataclass(frozen=True)
class SchemaTable:
    """One schema's attributes, and the other RFC names it accepts but does not describe."""

    uri: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]
    accepted: tuple[str, ...] = ()

    def canonical(self, name: str) -> str:
        """The schema's spelling of an attribute name, else the name as given."""
        lowered = name.lower()
        for spelling in (*(a.name for a in self.attributes), *self.accepted):
            if spelling.lower() == lowered:
                return spelling
        return name

    def get(self, name: str) -> Attribute | None:
        lowered = name.lower()
        return next((a for a in self.attributes if a.name.lower() == lowered), None)

    def to_scim(self, location: str) -> dict[str, Any]:
        return {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.uri,
            "name": self.name,
            "description": self.description,
            "attributes": [attribute.to_scim() for attribute in self.attributes],
            "meta": {"resourceType": "Schema", "location": location},
        }


_COMMON = (
    _text("id", "The employee id.", mutability="readOnly", returned="always", case_exact=True),
    _text(
        "externalId",
        "The identity provider's id, set once; on create it becomes the id when given.",
        case_exact=True,
        mutability="immutable",
    ),
)
_KIND = _text("type", "A label: work, home or other.", canonical_values=_KINDS)
_PRIMARY = Attribute("primary", "The primary value.", type="boolean")

USER: Final = SchemaTable(
    USER_SCHEMA,
    "User",
    "User Account",
    (
        *_COMMON,
        _text("userName", "A unique login name (any string).", required=True, uniqueness="server"),
        Attribute(
            "name",
            "Parts of the name; used for the display name when displayName is absent.",
            type="complex",
            sub_attributes=(
                _text("formatted", "The full name."),
                _text("givenName", "The given name."),
                _text("familyName", "The family name."),
            ),
        ),
        _text("displayName", "The name shown to other employees."),
        _text("title", "The job title."),
        _text("preferredLanguage", "The ISO 639-1 language (its prefix).", canonical_values=_LANGUAGES),
        _text("timezone", "The IANA time zone.", canonical_values=_TIMEZONES),
        # Required in the schema because the service always has a status to return (clients
        # may leave it out: a new user is active, a replaced one keeps its status).
        Attribute("active", "false: the employee has left.", type="boolean", required=True),
        Attribute(
            "emails",
            "Email addresses; the primary one, else the work one, else the first is the employee's.",
            type="complex",
            multi_valued=True,
            sub_attributes=(_text("value", "The email address."), _KIND, _PRIMARY),
        ),
        Attribute(
            "addresses",
            "The work location: the locality (or formatted text) of the primary, else work, else first.",
            type="complex",
            multi_valued=True,
            sub_attributes=(
                _text("formatted", "The full address."),
                _text("locality", "The city."),
                _text("country", "The country."),
                _KIND,
                _PRIMARY,
            ),
        ),
        Attribute(
            "groups",
            "The groups the employee is in.",
            type="complex",
            multi_valued=True,
            mutability="readOnly",
            sub_attributes=(
                _text("value", "The group id.", mutability="readOnly"),
                _text("display", "The group's name.", mutability="readOnly"),
            ),
        ),
    ),
    accepted=(
        "schemas", "meta", "nickName", "profileUrl", "userType", "locale", "password",
        "phoneNumbers", "ims", "photos", "entitlements", "roles", "x509Certificates",
    ),
)  # fmt: skip
ENTERPRISE: Final = SchemaTable(
    ENTERPRISE_SCHEMA,
    "EnterpriseUser",
    "Enterprise User",
    (
        _text("department", "The department."),
        Attribute(
            "manager",
            "The employee's manager.",
            type="complex",
            sub_attributes=(
                _text("value", "The manager's id.", case_exact=True),
                Attribute("$ref", "The manager's User URI.", type="reference", reference_types=("User",)),
            ),
        ),
    ),
    accepted=("employeeNumber", "costCenter", "organization", "division"),
)
GROUP: Final = SchemaTable(
    GROUP_SCHEMA,
    "Group",
    "Group",
    (
        replace(_COMMON[0], description="The group id."),
        replace(_COMMON[1], description="The identity provider's id of the group."),
        _text("displayName", "The group's name.", required=True),
        Attribute(
            "members",
            "The employees in the group.",
            type="complex",
            multi_valued=True,
            sub_attributes=(
                _text("value", "The member's User id.", case_exact=True, mutability="immutable"),
                _text("display", "The member's name.", mutability="immutable"),
                _text("type", "User.", mutability="immutable", canonical_values=("User",)),
            ),
        ),
    ),
    accepted=("schemas", "meta"),
)
SCHEMAS: Final = {table.uri: table for table in (USER, ENTERPRISE, GROUP)}
SUB_ATTRIBUTES: Final = (
    "value", "display", "type", "primary", "$ref", "formatted", "familyName", "givenName",
    "middleName", "honorificPrefix", "honorificSuffix", "streetAddress", "locality", "region",
    "postalCode", "country",
)  # fmt: skip


def canonical_sub(name: str) -> str:
    lowered = name.lower()
    return next((spelling for spelling in SUB_ATTRIBUTES if spelling.lower() == lowered), name)


def canonical_value(value: Any) -> Any:
    """A JSON value with the RFC's spellings of sub-attribute names."""
    if isinstance(value, dict):
        return {canonical_sub(key): canonical_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [canonical_value(item) for item in value]
    return value
