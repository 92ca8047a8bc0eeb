"""The two parts of a profile: what HR says (``HrRecord``) and what the employee says
(``Mentoring``). Typed values; they convert to and from the JSON the snapshot and the store carry.
"""

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

from tandem_contracts.hr import HR_FIELDS

__all__ = ["HrRecord", "Mentoring", "NotificationSettings", "ScimAccount", "Skill"]

DepartmentPreference = Literal["same", "other", "any"]


@dataclass(frozen=True, slots=True)
class HrRecord:
    """The ``hr.employees`` fields as last stated (``None``: unassigned)."""

    email: str | None = None
    display_name: str | None = None
    department: str | None = None
    job_title: str | None = None
    level: int | None = None
    manager_id: str | None = None
    location: str | None = None
    timezone: str | None = None
    languages: tuple[str, ...] | None = None
    start_date: str | None = None

    def value(self, name: str) -> object:
        return getattr(self, name)

    def with_values(self, values: Mapping[str, Any]) -> "HrRecord":
        """These contract fields set (JSON values as the contract dumps them)."""
        given = {name: values[name] for name in HR_FIELDS if name in values}
        if isinstance(given.get("languages"), list):
            given["languages"] = tuple(given["languages"])
        return replace(self, **given)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["languages"] = list(self.languages) if self.languages is not None else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "HrRecord":
        return cls().with_values(data)


@dataclass(frozen=True, slots=True)
class Skill:
    name: str
    level: int = 3


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    channels: Mapping[str, bool] = field(default_factory=dict)
    muted_types: tuple[str, ...] = ()


def _skills(items: Sequence[Mapping[str, Any]]) -> tuple[Skill, ...]:
    return tuple(Skill(name=str(item["name"]), level=int(item.get("level", 3))) for item in items)


@dataclass(frozen=True, slots=True)
class Mentoring:
    """The self-service part: roles, skills, goals and the rest (validated by the API)."""

    roles: tuple[str, ...] = ()
    skills: tuple[Skill, ...] = ()
    goals: tuple[Skill, ...] = ()
    interests: tuple[str, ...] = ()
    bio: str | None = None
    mentor_capacity: int = 0
    availability_hours_per_month: int | None = None
    department_preference: DepartmentPreference = "any"
    notifications: NotificationSettings = field(default_factory=NotificationSettings)

    def to_json(self) -> dict[str, Any]:
        return {
            "roles": list(self.roles),
            "skills": [asdict(skill) for skill in self.skills],
            "goals": [asdict(goal) for goal in self.goals],
            "interests": list(self.interests),
            "bio": self.bio,
            "mentor_capacity": self.mentor_capacity,
            "availability_hours_per_month": self.availability_hours_per_month,
            "preferences": {"department": self.department_preference},
            "notification_preferences": {
                "channels": dict(self.notifications.channels),
                "muted_types": list(self.notifications.muted_types),
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Mentoring":
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {key: data[key] for key in known & data.keys()}
        for name in ("roles", "interests"):
            if name in values:
                values[name] = tuple(values[name])
        for name in ("skills", "goals"):
            if name in values:
                values[name] = _skills(values[name])
        if "preferences" in data:
            values["department_preference"] = data["preferences"].get("department", "any")
        if "notification_preferences" in data:
            settings = data["notification_preferences"]
            values["notifications"] = NotificationSettings(
                channels=dict(settings.get("channels", {})),
                muted_types=tuple(settings.get("muted_types", ())),
            )
        return cls(**values)

    def edited(self, changes: Mapping[str, Any]) -> "Mentoring":
        """These self-service fields changed (JSON values, as the API validated them)."""
        return Mentoring.from_json(self.to_json() | dict(changes))

    @property
    def skill_names(self) -> list[str]:
        return [skill.name for skill in self.skills]


@dataclass(frozen=True, slots=True)
class ScimAccount:
    """What an identity provider sent through SCIM, kept so the User reads back as written.

    ``attributes`` is the User as sent (normalised JSON, without ``id``/``meta``); the profile
    stays the truth for every attribute mapped to an HR field. Not published.
    """

    user_name: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
