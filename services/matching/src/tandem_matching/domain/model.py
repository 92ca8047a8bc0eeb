"""Plain value objects the service layer fills from its projection of employees."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Literal

__all__ = [
    "DepartmentPreference",
    "Eligibility",
    "Person",
    "PoolSnapshot",
    "ProfileEntry",
    "Skill",
    "Weights",
    "best_levels",
]

DepartmentPreference = Literal["same", "other", "any"]


@dataclass(frozen=True, slots=True)
class Skill:
    """A normalised (lowercase) skill name with a level from 1 to 5."""

    name: str
    level: int

    def __post_init__(self) -> None:
        if not 1 <= self.level <= 5:
            raise ValueError(f"skill level must be 1..5, got {self.level}")


def best_levels(skills: Sequence[Skill]) -> dict[str, int]:
    """Skill name -> its highest level (a skill or goal listed twice counts once), in the
    order of first mention."""
    levels: dict[str, int] = {}
    for skill in skills:
        levels[skill.name] = max(levels.get(skill.name, 0), skill.level)
    return levels


@dataclass(frozen=True, slots=True)
class Person:
    """An employee as matching sees them; `skills` are offered, `goals` are wanted."""

    employee_id: str
    active: bool = True
    roles: frozenset[str] = frozenset()
    department: str | None = None
    level: int | None = None
    manager_id: str | None = None
    location: str | None = None
    timezone: str | None = None
    languages: tuple[str, ...] = ()
    skills: tuple[Skill, ...] = ()
    goals: tuple[Skill, ...] = ()
    interests: tuple[str, ...] = ()
    groups: frozenset[str] = frozenset()  # ids of the identity provider's groups (SCIM)
    mentor_capacity: int = 0
    active_mentees: int = 0
    department_preference: DepartmentPreference = "any"

    @property
    def free_capacity(self) -> int:
        return max(0, self.mentor_capacity - self.active_mentees)

    @property
    def seats_offered(self) -> int:
        """How many mentees this person may mentor at once (0 unless an active mentor)."""
        return self.mentor_capacity if self.active and "mentor" in self.roles else 0


@dataclass(frozen=True, slots=True)
class ProfileEntry:
    """The projection's newest snapshot of an employee: `person` is None once erased; `seq`
    orders the writes to the projection (bookkeeping for readers that catch up)."""

    employee_id: str
    version: int
    status: str
    person: Person | None
    seq: int = 0


@dataclass(frozen=True, slots=True)
class PoolSnapshot:
    """The mentor pool's people as of projection number `seq`, stored so a starting process reads
    a few documents and then only what changed after `seq`. `versions` covers every employee,
    erased ones too (an id and a version, nothing personal); `people` the others."""

    seq: int
    versions: dict[str, int]
    people: tuple[Person, ...]


@dataclass(frozen=True, slots=True)
class Weights:
    """Component weights; defaults are the documented product defaults."""

    goal_fit: float = 0.45
    seniority: float = 0.15
    timezone: float = 0.15
    department: float = 0.10
    interests: float = 0.15

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"weight {f.name} must not be negative")

    def as_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}

    def normalised(self) -> Weights:
        """The same proportions, summing to 1 (rejects an all-zero set)."""
        total = sum(self.as_dict().values())
        if total <= 0:
            raise ValueError("at least one weight must be positive")
        return Weights(**{k: v / total for k, v in self.as_dict().items()})


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Program eligibility, applied to mentee and mentor alike; `None` means no filter.

    A person whose attribute is unknown fails a filter that is set on that attribute.
    Departments and locations keep the order the program lists them in (tests may pass sets).
    ``groups`` admits members of at least one of the named groups (SCIM group ids), such as an
    employee resource group's program.
    """

    departments: tuple[str, ...] | None = None
    min_level: int | None = None
    max_level: int | None = None
    locations: tuple[str, ...] | None = None
    groups: tuple[str, ...] | None = None

    @property
    def is_open(self) -> bool:
        return (
            self.departments is None
            and self.min_level is None
            and self.max_level is None
            and self.locations is None
            and self.groups is None
        )

    def admits(self, person: Person) -> bool:
        if self.departments is not None and person.department not in self.departments:
            return False
        if self.min_level is not None and (person.level is None or person.level < self.min_level):
            return False
        if self.max_level is not None and (person.level is None or person.level > self.max_level):
            return False
        if self.groups is not None and person.groups.isdisjoint(self.groups):
            return False
        return self.locations is None or person.location in self.locations
