"""Form text to API bodies and back: pure functions."""

import re

__all__ = ["FormError", "format_levelled", "parse_ids", "parse_levelled", "parse_tags"]

_SPLIT = re.compile(r"[\n,;]+")


class FormError(ValueError):
    """The form's text cannot be read; the message says which part and why."""


def parse_levelled(text: str, *, what: str) -> list[dict[str, object]]:
    """``"Python: 4, Kafka"`` → ``[{"name": "Python", "level": 4}, {"name": "Kafka", "level": 3}]``."""
    items: list[dict[str, object]] = []
    for raw in _SPLIT.split(text):
        entry = raw.strip()
        if not entry:
            continue
        name, _, level = entry.rpartition(":") if ":" in entry else (entry, "", "3")
        name, level = name.strip(), level.strip() or "3"
        if not name:
            raise FormError(f"{what}: '{entry}' has no name")
        if not level.isdigit() or not 1 <= int(level) <= 5:
            raise FormError(f"{what}: the level of '{name}' must be a whole number from 1 to 5")
        items.append({"name": name, "level": int(level)})
    return items


def format_levelled(items: list[dict[str, object]]) -> str:
    return "\n".join(f"{item['name']}: {item.get('level', 3)}" for item in items)


def parse_tags(text: str) -> list[str]:
    return [tag.strip() for tag in _SPLIT.split(text) if tag.strip()]


def parse_ids(text: str) -> list[str]:
    """Employee ids separated by commas, semicolons, spaces or lines."""
    return [one for one in re.split(r"[\s,;]+", text) if one]
