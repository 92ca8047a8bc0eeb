"""RFC 7644 §3.5.2 PATCH of a resource (as JSON), with what identity providers really send:
op names in any case (Entra ID's ``Replace``), paths with value filters
(``emails[type eq "work"].value``), a pathless value whose keys are paths (``"name.givenName"``)
or the enterprise extension's URN. All or nothing. Pure.
"""

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from tandem_profiles.domain.scim.attributes import PATCH_SCHEMA, SchemaTable, canonical_sub, canonical_value
from tandem_profiles.domain.scim.errors import ScimError, excerpt

__all__ = ["Resource", "apply_patch"]

_VALUE = r'"(?:[^"\\]|\\.)*"|true|false|null|-?\d+(?:\.\d+)?'
_COMPARISON: Final = re.compile(rf"^\s*([A-Za-z$][\w$.:-]*)\s+(eq)\s+({_VALUE})\s*$", re.IGNORECASE)
_PATH: Final = re.compile(r"^([A-Za-z$][\w$-]*)(?:\[([^\]]*)\])?(?:\.([A-Za-z$][\w$-]*))?$")
_ALWAYS_READ_ONLY: Final = frozenset({"id", "meta", "schemas"})


@dataclass(frozen=True)
class Resource:
    """What a PATCH needs to know of the resource type it changes."""

    core: SchemaTable
    extension: SchemaTable | None = None
    multi_valued: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()

    def read_only(self, name: str) -> bool:
        attribute = self.core.get(name)
        return name in _ALWAYS_READ_ONLY or (attribute is not None and attribute.mutability == "readOnly")


@dataclass(frozen=True)
class _Path:
    extension: bool
    attribute: str
    selector: tuple[str, Any] | None
    sub: str | None


def _literal(text: str) -> Any:
    if text.startswith('"'):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    return float(text) if "." in text else int(text)


def _parse_path(text: str, resource: Resource) -> _Path:
    extension = False
    rest = text.strip()
    schemas = [resource.core.uri, *([resource.extension.uri] if resource.extension else [])]
    for uri in schemas:
        if rest.lower().startswith(uri.lower() + ":"):
            extension, rest = uri != resource.core.uri, rest[len(uri) + 1 :]
            break
    match = _PATH.match(rest)
    if not match or rest.lower().startswith("urn:"):
        raise ScimError(400, f"unsupported path {excerpt(text)}", "invalidPath")
    table = resource.extension if extension and resource.extension else resource.core
    attribute = table.canonical(match.group(1))
    selector = None
    if match.group(2) is not None:
        comparison = _COMPARISON.match(match.group(2))
        if not comparison or attribute not in resource.multi_valued:
            raise ScimError(400, f"unsupported value filter in path {excerpt(text)}", "invalidFilter")
        selector = (canonical_sub(comparison.group(1)), _literal(comparison.group(3)))
    sub = canonical_sub(match.group(3)) if match.group(3) else None
    return _Path(extension, attribute, selector, sub)


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower()
    return bool(left == right)


def _check_mutable(
    resource_json: dict[str, Any], op: str, path: _Path, value: Any, resource: Resource
) -> bool:
    """False: the operation is a no-op on a read-only attribute; raises if it would change one."""
    if path.extension:
        return True
    if resource.read_only(path.attribute):
        if path.selector is None and path.sub is None and value == resource_json.get(path.attribute):
            return False
        raise ScimError(400, f"{path.attribute} is read-only", "mutability")
    if path.attribute == "externalId" and resource_json.get("externalId") is not None:
        if op != "remove" and value == resource_json.get("externalId"):
            return False
        raise ScimError(400, "externalId is immutable once set", "mutability")
    if path.attribute in resource.required and op == "remove" and path.sub is None and path.selector is None:
        raise ScimError(400, f"{path.attribute} is required", "mutability")
    return True


def _apply(resource_json: dict[str, Any], op: str, path_text: str, value: Any, resource: Resource) -> None:
    path = _parse_path(path_text, resource)
    if op != "remove" and value is None:
        op = "remove"  # null is "unassigned" (RFC 7643 §2.5)
    value = canonical_value(value)
    if not _check_mutable(resource_json, op, path, value, resource):
        return
    uri = resource.extension.uri if resource.extension else ""
    container = resource_json.setdefault(uri, {}) if path.extension else resource_json
    name = path.attribute
    if name in resource.multi_valued:
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
    if path.extension and not resource_json[uri]:
        del resource_json[uri]


def _complex(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _apply_selected(items: list[Any], op: str, path: _Path, value: Any) -> list[Any]:
    assert path.selector is not None
    key, wanted = path.selector
    matched = [
        i for i, item in enumerate(items) if isinstance(item, Mapping) and _same(item.get(key), wanted)
    ]
    if op == "remove":
        if path.sub is None:
            return [item for i, item in enumerate(items) if i not in matched]
        for i in matched:
            items[i].pop(path.sub, None)
        return items
    if not matched and op == "replace":
        raise ScimError(400, "no value matches the path's filter", "noTarget")
    if not matched:  # an add with a filter creates the value it names
        items.append({key: wanted, path.sub: value} if path.sub else {key: wanted, **_complex(value)})
    for i in matched:
        if path.sub is not None:
            items[i][path.sub] = value
        elif op == "add":
            items[i] = {**items[i], **_complex(value)}
        else:
            items[i] = dict(_complex(value))
    return items


def _apply_multi(container: dict[str, Any], op: str, path: _Path, value: Any) -> None:
    items = [
        dict(item) if isinstance(item, Mapping) else item for item in container.get(path.attribute) or []
    ]
    if path.selector is not None:
        items = _apply_selected(items, op, path, value)
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
        if isinstance(value, list):  # Azure-style removal of the members listed in value
            gone = [item.get("value") for item in value if isinstance(item, Mapping)]
            items = [item for item in items if not (isinstance(item, Mapping) and item.get("value") in gone)]
        else:
            items = []
    else:
        values = value if isinstance(value, list) else [value]
        items = [*items, *(v for v in values if v not in items)] if op == "add" else list(values)
    container[path.attribute] = items
    if not items:
        del container[path.attribute]


def _operations(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if PATCH_SCHEMA not in (body.get("schemas") or []):
        raise ScimError(400, f"schemas must contain {PATCH_SCHEMA}", "invalidSyntax")
    operations = next((v for k, v in body.items() if k.lower() == "operations"), None)
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "Operations must be a non-empty list", "invalidSyntax")
    if not all(isinstance(operation, Mapping) for operation in operations):
        raise ScimError(400, "each operation must be an object", "invalidSyntax")
    return operations


def apply_patch(
    resource_json: Mapping[str, Any], body: Mapping[str, Any], resource: Resource
) -> dict[str, Any]:
    """Apply a PatchOp to a resource (as rendered); all or nothing."""
    patched = copy.deepcopy(dict(resource_json))
    extension = resource.extension.uri.lower() if resource.extension else None
    for operation in _operations(body):
        fields = {key.lower(): value for key, value in operation.items()}
        op = str(fields.get("op", "")).lower()  # Entra ID sends "Replace", "Add", "Remove"
        if op not in ("add", "replace", "remove"):
            raise ScimError(400, f"unknown op {excerpt(fields.get('op'))}", "invalidSyntax")
        path, value = fields.get("path"), fields.get("value")
        if path is not None and not isinstance(path, str):
            raise ScimError(400, "path must be a string", "invalidPath")
        if path and path.strip().lower() == extension and op == "remove":
            patched.pop(path.strip(), None)
            patched = {key: item for key, item in patched.items() if key.lower() != extension}
        elif path and path.strip().lower() == extension and isinstance(value, Mapping):
            for name, sub_value in value.items():
                _apply(patched, op, f"{path.strip()}:{name}", sub_value, resource)
        elif path:
            _apply(patched, op, path, value, resource)
        elif op == "remove":
            raise ScimError(400, "remove needs a path", "noTarget")
        elif not isinstance(value, Mapping):
            raise ScimError(400, "an operation without a path needs an object value", "invalidValue")
        else:
            for key, item in value.items():
                if key.lower() == extension and isinstance(item, Mapping):
                    for name, sub_value in item.items():
                        _apply(patched, op, f"{key}:{name}", sub_value, resource)
                elif key.lower() != "schemas":
                    _apply(patched, op, key, item, resource)  # keys may be paths ("name.givenName")
    return patched
