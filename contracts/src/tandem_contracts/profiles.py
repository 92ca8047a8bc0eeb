"""``tandem.profiles`` (key: ``employee_id``): full profile snapshots with a ``version``."""

from typing import Annotated, Literal

from pydantic import AwareDatetime, BeforeValidator, Field

from tandem_contracts.base import EmployeeId, EventData, IsoDate, json_int

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


# Bounds are the HR contract's and the self-service API's: what the profiles service can publish.
# A snapshot outside them is not one it sent, and readers must not store or compute with it.
_Text = Annotated[str, Field(max_length=256)]
_Tag = Annotated[str, Field(max_length=64)]


class SkillLevel(EventData):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    level: Annotated[int, Field(ge=1, le=5), BeforeValidator(json_int)] = 3


class NotificationPreferences(EventData):
    channels: dict[_Tag, bool] = Field(default_factory=dict, max_length=16)
    muted_types: list[_Tag] = Field(default_factory=list, max_length=64)


class ProfilePreferences(EventData):
    department: Literal["same", "other", "any"] = "any"


class ProfileSnapshot(EventData):
    """Everything other services may know of an employee, as of ``version``."""

    employee_id: EmployeeId
    version: Annotated[int, Field(ge=1, le=2**62), BeforeValidator(json_int)]
    status: ProfileStatus
    email: Annotated[str, Field(max_length=254)] | None = None
    display_name: _Text | None = None
    department: _Text | None = None
    job_title: _Text | None = None
    level: Annotated[int, Field(ge=1, le=20), BeforeValidator(json_int)] | None = None
    manager_id: EmployeeId | None = None
    location: _Text | None = None
    timezone: Annotated[str, Field(max_length=64)] | None = None
    languages: list[Annotated[str, Field(max_length=8)]] = Field(default_factory=list, max_length=50)
    start_date: IsoDate | None = None
    roles: list[Role] = Field(default_factory=list, max_length=2)
    skills: list[SkillLevel] = Field(default_factory=list, max_length=50)
    goals: list[SkillLevel] = Field(default_factory=list, max_length=20)
    interests: list[_Tag] = Field(default_factory=list, max_length=30)
    bio: Annotated[str, Field(max_length=2000)] | None = None
    mentor_capacity: Annotated[int, Field(ge=0, le=10), BeforeValidator(json_int)] = 0
    availability_hours_per_month: Annotated[int, Field(ge=0, le=160), BeforeValidator(json_int)] | None = None
    preferences: ProfilePreferences = Field(default_factory=ProfilePreferences)
    notification_preferences: NotificationPreferences = Field(default_factory=NotificationPreferences)
    left_at: AwareDatetime | None = None
    # Ids of the SCIM groups (departments, employee resource groups, cohorts) the employee is in.
    groups: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        default_factory=list, max_length=1000
    )


class ProfileRegistered(ProfileSnapshot):
    """``profile.registered``: a new employee profile exists."""


class ProfileUpdated(ProfileSnapshot):
    """``profile.updated``: HR or mentoring fields changed."""


class ProfileDeactivated(ProfileSnapshot):
    """``profile.deactivated``: the employee left; stop matching and notifying them."""


class ProfileErased(ProfileSnapshot):
    """``profile.erased``: personal data is gone; every service must forget it."""
