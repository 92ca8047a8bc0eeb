"""Export the JSON Schema of every event's data and check changes against the committed ones.

``tandem-schemas export`` rewrites ``schemas/*.json``; ``tandem-schemas check`` lists the
breaking changes (removed or retyped fields, new required fields) and exits 1 if any.
"""

import json
import sys
from pathlib import Path
from typing import Any

from tandem_contracts.registry import EVENT_TYPES

__all__ = ["SCHEMA_DIR", "current_schemas", "incompatibilities", "main"]

SCHEMA_DIR = Path(__file__).parent / "schemas"
Schema = dict[str, Any]


def current_schemas() -> dict[str, Schema]:
    """The data schema of every registered event type, from the models as they are now."""
    return {name: t.model.model_json_schema() for name, t in sorted(EVENT_TYPES.items())}


def committed_schemas(directory: Path = SCHEMA_DIR) -> dict[str, Schema]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))}


def _resolve(node: Schema, root: Schema) -> Schema:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved: Schema = root["$defs"][ref.removeprefix("#/$defs/")]
        return resolved
    return node


def _types(node: Schema, root: Schema) -> set[str]:
    """The JSON types a schema node accepts, with array item types as ``array[...]``."""
    node = _resolve(node, root)
    if "anyOf" in node:
        return set().union(*(_types(option, root) for option in node["anyOf"]))
    kind = node.get("type")
    if kind is None:
        return {"enum"} if "enum" in node or "const" in node else {"any"}
    kinds = kind if isinstance(kind, list) else [kind]
    found = set()
    for one in kinds:
        if one == "array" and "items" in node:
            found |= {f"array[{item}]" for item in _types(node["items"], root)}
        else:
            found.add(one)
    if "integer" in found:
        found.add("number")
    return found


def _compare_object(old: Schema, new: Schema, old_root: Schema, new_root: Schema, path: str) -> list[str]:
    problems = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, old_prop in old_props.items():
        where = f"{path}{name}"
        if name not in new_props:
            problems.append(f"{where}: field removed")
            continue
        new_prop = new_props[name]
        old_types, new_types = _types(old_prop, old_root), _types(new_prop, new_root)
        if "any" not in new_types and not old_types <= new_types:
            problems.append(f"{where}: type changed from {sorted(old_types)} to {sorted(new_types)}")
        old_obj, new_obj = _resolve(old_prop, old_root), _resolve(new_prop, new_root)
        if "properties" in old_obj and "properties" in new_obj:
            problems += _compare_object(old_obj, new_obj, old_root, new_root, f"{where}.")
    for name in sorted(set(new.get("required", [])) - set(old.get("required", []))):
        problems.append(f"{path}{name}: new required field")
    return problems


def incompatibilities(old: dict[str, Schema], new: dict[str, Schema]) -> list[str]:
    """Breaking changes from ``old`` to ``new`` schemas, one readable line each."""
    problems = [f"{name}: event type removed" for name in sorted(set(old) - set(new))]
    for name in sorted(set(old) & set(new)):
        problems += [
            f"{name}: {line}" for line in _compare_object(old[name], new[name], old[name], new[name], "")
        ]
    return problems


def export(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in current_schemas().items():
        path = directory / f"{name}.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    command = (argv if argv is not None else sys.argv[1:]) or ["check"]
    if command[0] == "export":
        for path in export():
            print(path)
        return 0
    if command[0] == "check":
        problems = incompatibilities(committed_schemas(), current_schemas())
        for line in problems:
            print(line)
        return 1 if problems else 0
    print("usage: tandem-schemas [export|check]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
