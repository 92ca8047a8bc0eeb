"""``tandem.profiles`` (key: ``employee_id``): full profile snapshots with a ``version``."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from tandem_contracts.base import EmployeeId, EventData

__all__ = [
    "NotificationPreferences",
    "ProfileDeactivated",
    "ProfileErased",
    "ProfilePreferences",
    "ProfileRegistered",
    "ProfileSnapshot",
    "ProfileStatus",
    "ProfileUpdated",
    "Role",
    "SkillLevel",
]

ProfileStatus = Literal["active", "inactive", "erased"]
Role = Literal["mentor", "mentee"]


class SkillLevel(EventData):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    level: Annotated[int, Field(ge=1, le=5)] = 3


class NotificationPreferences(EventData):
    channels: dict[str, bool] = Field(default_factory=dict)
    muted_types: list[str] = Field(default_factory=list)


class ProfilePreferences(EventData):
    department: Literal["same", "other", "any"] = "any"


class ProfileSnapshot(EventData):
    """Everything other services may know of an employee, as of ``version``."""

    employee_id: EmployeeId
    version: Annotated[int, Field(ge=1)]
    status: ProfileStatus
    email: str | None = None
    display_name: str | None = None
    department: str | None = None
    job_title: str | None = None
    level: int | None = None
    manager_id: str | None = None
    location: str | None = None
    timezone: str | None = None
    languages: list[str] = Field(default_factory=list)
    start_date: date | None = None
    roles: list[Role] = Field(default_factory=list)
    skills: list[SkillLevel] = Field(default_factory=list)
    goals: list[SkillLevel] = Field(default_factory=list)
    interests: list[str] = Field(default_factory=list)
    bio: str | None = None
    mentor_capacity: int = 0
    availability_hours_per_month: int | None = None
    preferences: ProfilePreferences = Field(default_factory=ProfilePreferences)
    notification_preferences: NotificationPreferences = Field(default_factory=NotificationPreferences)
    left_at: datetime | None = None


class ProfileRegistered(ProfileSnapshot):
    """``profile.registered``: a new employee profile exists."""


class ProfileUpdated(ProfileSnapshot):
    """``profile.updated``: HR or mentoring fields changed."""


class ProfileDeactivated(ProfileSnapshot):
    """``profile.deactivated``: the employee left; stop matching and notifying them."""


class ProfileErased(ProfileSnapshot):
    """``profile.erased``: personal data is gone; every service must forget it."""
