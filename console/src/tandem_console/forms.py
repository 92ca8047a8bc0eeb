"""Form text to API bodies and back: pure functions."""

import re
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "FormError",
    "format_goal_targets",
    "format_levelled",
    "goals_from_profile",
    "local_datetime",
    "parse_goal_targets",
    "parse_ids",
    "parse_levelled",
    "parse_tags",
    "zone",
]

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


_TARGET = re.compile(r"^(?P<name>.+?)\s*:\s*(?P<current>\d+)\s*(?:->|→|-|to)\s*(?P<target>\d+)$")


def _level(text: str, *, what: str, name: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 5:
        raise FormError(f"{what}: the levels of '{name}' must be whole numbers from 1 to 5")
    return int(text)


def parse_goal_targets(text: str, *, what: str = "Goals") -> list[dict[str, object]]:
    """``"Kafka: 2 -> 4"`` → ``[{"name": "Kafka", "current_level": 2, "target_level": 4}]``.

    ``"Kafka: 4"`` aims at 4 from one level below; a bare ``"Kafka"`` goes from 2 to 3.
    """
    goals: list[dict[str, object]] = []
    for raw in text.splitlines() if "\n" in text else _SPLIT.split(text):
        entry = raw.strip().strip(",;").strip()
        if not entry:
            continue
        found = _TARGET.match(entry)
        if found:
            name = found["name"].strip()
            current = _level(found["current"], what=what, name=name)
            target = _level(found["target"], what=what, name=name)
        else:
            name, _, level = entry.rpartition(":") if ":" in entry else (entry, "", "3")
            name, level = name.strip(), level.strip() or "3"
            target = _level(level, what=what, name=name or entry)
            current = max(1, target - 1)
        if not name:
            raise FormError(f"{what}: '{entry}' has no name")
        goals.append({"name": name, "current_level": current, "target_level": target})
    return goals


def format_goal_targets(goals: list[dict[str, Any]]) -> str:
    return "\n".join(f"{g['name']}: {g['current_level']} -> {g['target_level']}" for g in goals)


def goals_from_profile(goals: list[dict[str, Any]]) -> str:
    """A mentee's profile goals (the level each wants to reach) as agreement goals to edit."""
    return format_goal_targets(
        [
            {
                "name": g["name"],
                "current_level": max(1, int(g.get("level", 3)) - 1),
                "target_level": int(g.get("level", 3)),
            }
            for g in goals
            if g.get("name")
        ]
    )


def local_datetime(text: str, timezone: str, *, what: str) -> str:
    """A ``datetime-local`` field read in the person's time zone, as ISO 8601 with its offset."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise FormError(f"{what}: '{text[:40]}' is not a date and time") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(timezone))
    return moment.isoformat()


def zone(timezone: str | None) -> tzinfo:
    """The IANA zone, UTC when unknown."""
    try:
        return ZoneInfo(timezone) if timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC
