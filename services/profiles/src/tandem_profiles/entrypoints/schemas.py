"""HTTP request and response bodies of the profiles API."""

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from tandem_profiles.domain.skills import normalise_skill

__all__ = ["MentoringPatch", "NamesView", "ProfilePage", "ProfileView"]

SkillName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(normalise_skill),
]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=64)]


class SkillIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: SkillName
    level: Annotated[int, Field(ge=1, le=5)] = 3


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    department: Literal["same", "other", "any"] = "any"


def _dedupe_skills(skills: list[SkillIn] | None) -> list[SkillIn] | None:
    if skills is None:
        return None
    best: dict[str, SkillIn] = {}
    for skill in skills:
        if skill.name not in best or skill.level > best[skill.name].level:
            best[skill.name] = skill
    return list(best.values())


def _unique(values: list[Any] | None) -> list[Any] | None:
    return None if values is None else list(dict.fromkeys(values))


class MentoringPatch(BaseModel):
    """The self-service part of a profile; absent fields are unchanged."""

    model_config = ConfigDict(extra="forbid")

    roles: Annotated[list[Literal["mentor", "mentee"]], AfterValidator(_unique)] | None = None
    skills: Annotated[list[SkillIn], Field(max_length=50), AfterValidator(_dedupe_skills)] | None = None
    goals: Annotated[list[SkillIn], Field(max_length=20), AfterValidator(_dedupe_skills)] | None = None
    interests: Annotated[list[Tag], Field(max_length=30), AfterValidator(_unique)] | None = None
    bio: Annotated[str, StringConstraints(max_length=2000)] | None = None
    mentor_capacity: Annotated[int, Field(ge=0, le=10)] | None = None
    availability_hours_per_month: Annotated[int, Field(ge=0, le=160)] | None = None
    preferences: PreferencesIn | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(mode="json", include=self.model_fields_set)


class ProfileView(BaseModel):
    employee_id: str
    version: int
    status: str
    email: str | None = None
    display_name: str | None = None
    department: str | None = None
    job_title: str | None = None
    level: int | None = None
    manager_id: str | None = None
    location: str | None = None
    timezone: str | None = None
    languages: list[str] = []
    start_date: str | None = None
    roles: list[str] = []
    skills: list[dict[str, Any]] = []
    goals: list[dict[str, Any]] = []
    interests: list[str] = []
    bio: str | None = None
    mentor_capacity: int = 0
    availability_hours_per_month: int | None = None
    preferences: dict[str, Any] = {}
    groups: list[str] = []


class NamesView(BaseModel):
    names: dict[str, str]


class ProfilePage(BaseModel):
    items: list[ProfileView]
    next_cursor: str | None
