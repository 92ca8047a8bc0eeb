"""Queries of SCIM resources (RFC 7644 §3.4.2): filters (parsed and matched by ``scim2-models``),
``attributes``/``excludedAttributes``, and the narrowing a store can do before matching. Pure.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pydantic import ValidationError
from scim2_models import EnterpriseUser, Group, SCIMException, ScimFilter, User
from scim2_models.path.expressions import Comparison, LogicalExpr

from tandem_profiles.domain.scim.attributes import ENTERPRISE, SchemaTable
from tandem_profiles.domain.scim.errors import ScimError, excerpt

__all__ = ["Filter", "Projection", "parse_filter"]

_MODELS: Final[dict[str, Any]] = {"User": User[EnterpriseUser], "Group": Group}
_FILTERS: Final[dict[str, Any]] = {"User": ScimFilter[User[EnterpriseUser]], "Group": ScimFilter[Group]}


@dataclass(frozen=True)
class Filter:
    """A parsed filter; ``equals`` names the ``attribute eq "value"`` terms every match satisfies
    (lower-cased attribute names), which a store can look up instead of scanning."""

    text: str
    resource_type: str
    equals: Mapping[str, str]

    def match(self, resource: Mapping[str, Any]) -> bool:
        readable = dict(resource)
        for _ in range(len(readable)):
            try:
                parsed = _MODELS[self.resource_type].model_validate(readable)
            except ValidationError as error:
                # A value the model refuses (e.g. an email at a ".local" domain, which identity
                # providers do send) matches nothing; the rest of the resource still can.
                unreadable = {str(problem["loc"][0]) for problem in error.errors() if problem["loc"]}
                if not unreadable & readable.keys():
                    return False
                readable = {key: value for key, value in readable.items() if key not in unreadable}
                continue
            return bool(_FILTERS[self.resource_type](self.text).match(parsed))
        return False


def _required_equalities(node: Any) -> dict[str, str]:
    if isinstance(node, Comparison) and str(node.op).lower() == "eq" and isinstance(node.value, str):
        return {str(node.attr_path).lower(): node.value}
    if isinstance(node, LogicalExpr) and str(node.op).lower() == "and":
        found: dict[str, str] = {}
        for term in node.terms:
            found |= _required_equalities(term)
        return found
    return {}


def parse_filter(text: str, resource_type: str) -> Filter:
    """Parse a filter for ``User`` or ``Group``; 400 ``invalidFilter`` when it is not one."""
    try:
        parsed = _FILTERS[resource_type](text)
    except (SCIMException, ValueError) as error:
        raise ScimError(400, f"invalid filter {excerpt(text)}", "invalidFilter") from error
    return Filter(text, resource_type, _required_equalities(parsed.ast))


def _names(raw: str | None) -> list[str]:
    return [name.strip() for name in (raw or "").split(",") if name.strip()]


@dataclass(frozen=True)
class Projection:
    """``attributes`` / ``excludedAttributes`` of a request (RFC 7644 §3.4.2.5)."""

    attributes: Sequence[str] = ()
    excluded: Sequence[str] = ()

    @classmethod
    def of(cls, attributes: str | None, excluded: str | None) -> "Projection":
        return cls(_names(attributes), _names(excluded))

    def apply(self, resource: Mapping[str, Any], table: SchemaTable) -> dict[str, Any]:
        always = {a.name.lower() for a in table.attributes if a.returned == "always"} | {"schemas"}
        kept = dict(resource)
        if self.attributes:
            wanted = [_split(name, table) for name in self.attributes]
            kept = {}
            for key, value in resource.items():
                picked = _pick(key, value, wanted)
                if key.lower() in always:
                    kept[key] = value
                elif picked is not None:
                    kept[key] = picked
        for name in self.excluded:
            top, sub = _split(name, table)
            if top.lower() in always:
                continue
            present = next((k for k in kept if k.lower() == top.lower()), None)
            if present is None:
                continue
            if sub is None:
                del kept[present]
            elif isinstance(kept[present], Mapping):
                kept[present] = {k: v for k, v in kept[present].items() if k.lower() != sub.lower()}
        return kept


def _split(name: str, table: SchemaTable) -> tuple[str, str | None]:
    """(top-level key, sub-attribute) of an attribute name, URN-qualified or not."""
    for uri in (table.uri, ENTERPRISE.uri):
        if name.lower().startswith(uri.lower() + ":"):
            rest = name[len(uri) + 1 :]
            if uri != table.uri:
                return uri, rest
            name = rest
            break
        if name.lower() == uri.lower():
            return uri, None
    top, _, sub = name.partition(".")
    return top, (sub or None)


def _pick(key: str, value: Any, wanted: list[tuple[str, str | None]]) -> Any:
    subs = [sub for top, sub in wanted if top.lower() == key.lower()]
    if not subs:
        return None
    if None in subs or not isinstance(value, Mapping | list):
        return value
    lowered = {str(sub).lower() for sub in subs}
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if k.lower() in lowered}
    return [
        {k: v for k, v in item.items() if k.lower() in lowered} for item in value if isinstance(item, Mapping)
    ]
