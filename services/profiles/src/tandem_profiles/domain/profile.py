"""The employee profile aggregate: how HR events and self-service edits change it.

HR feeds arrive duplicated and out of order, so every HR field keeps the stamp (event time,
event id) of the value it holds and only a later stamp replaces it; the status follows whichever
of the latest ``joined`` and ``left`` is later. Applying the same events in any order therefore
ends in the same profile, and replaying a feed changes nothing. Pure: no I/O.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from tandem_contracts import EmployeeJoined, EmployeeLeft, EmployeeUpdated

from tandem_profiles.domain.parts import HrRecord, Mentoring, ScimAccount

__all__ = [
    "InactiveProfileError",
    "Profile",
    "ProfileChange",
    "Stamp",
    "apply_hr_event",
    "edit_mentoring",
    "erase",
    "set_groups",
    "set_scim_account",
]

Stamp = tuple[str, str]  # (event time in ISO 8601 UTC, event id): ordered, total, deterministic
EventKind = Literal["registered", "updated", "deactivated", "erased"]
_NO_STAMP: Stamp = ("", "")


class InactiveProfileError(Exception):
    """Self-service changes to an inactive or erased profile are refused."""


@dataclass(frozen=True)
class Profile:
    employee_id: str
    hr: HrRecord = field(default_factory=HrRecord)
    hr_stamps: Mapping[str, Stamp] = field(default_factory=dict)
    mentoring: Mentoring = field(default_factory=Mentoring)
    joined: Stamp = _NO_STAMP
    left: Stamp = _NO_STAMP
    erased: Stamp = _NO_STAMP
    last_day: str | None = None
    published_version: int = 0
    # Ids of the SCIM groups the identity provider put the employee in (published).
    groups: tuple[str, ...] = ()
    # What an identity provider sent through SCIM (not published: SCIM's own bookkeeping).
    scim: ScimAccount | None = None

    @property
    def known(self) -> bool:
        """HR has said the employee joined (updates alone do not make a profile)."""
        return self.joined != _NO_STAMP

    @property
    def scim_user_name(self) -> str:
        """The SCIM userName: the one an identity provider set, else the email, else the id."""
        return self.scim.user_name if self.scim else self.hr.email or self.employee_id

    @property
    def status(self) -> Literal["active", "inactive", "erased"]:
        if self.erased != _NO_STAMP and self.erased >= max(self.joined, self.left):
            return "erased"
        return "active" if self.known and self.joined > self.left else "inactive"

    def snapshot(self) -> dict[str, Any]:
        """The ``tandem.profiles`` data of this profile at ``published_version``."""
        data: dict[str, Any] = {
            "employee_id": self.employee_id,
            "version": self.published_version,
            "status": self.status,
        }
        if self.status == "erased":
            return data
        data |= self.hr.to_json()
        data["languages"] = list(self.hr.languages or ())
        data |= self.mentoring.to_json()
        data["left_at"] = self.left[0] or None if self.status == "inactive" else None
        data["groups"] = list(self.groups)
        return data


@dataclass(frozen=True)
class ProfileChange:
    profile: Profile
    event: EventKind | None  # None: nothing downstream needs to hear


def _stamp(time: datetime, event_id: str) -> Stamp:
    return (time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), event_id)


def _merge_hr(profile: Profile, values: dict[str, Any], stamp: Stamp) -> Profile:
    stamps, newer = dict(profile.hr_stamps), {}
    for name, value in values.items():
        if stamp > stamps.get(name, _NO_STAMP) and stamp >= profile.erased:
            newer[name], stamps[name] = value, stamp
    return replace(profile, hr=profile.hr.with_values(newer), hr_stamps=stamps)


def _published(before: Profile, after: Profile) -> ProfileChange:
    """Decide which event (if any) the change from ``before`` to ``after`` publishes."""
    if not after.known or (before.snapshot() | {"version": 0}) == (after.snapshot() | {"version": 0}):
        return ProfileChange(after, None)
    if after.status == "erased":
        kind: EventKind = "erased"
    elif after.status == "active" and (before.status != "active" or before.published_version == 0):
        kind = "registered"
    elif before.status == "active" and after.status == "inactive":
        kind = "deactivated"
    else:
        kind = "updated"
    if before.published_version == 0 and kind != "registered" and after.status != "active":
        # Never active (left before joined): nothing downstream ever heard of them.
        return ProfileChange(after, None)
    return ProfileChange(replace(after, published_version=before.published_version + 1), kind)


def apply_hr_event(
    profile: Profile | None,
    event: EmployeeJoined | EmployeeUpdated | EmployeeLeft,
    *,
    time: datetime,
    event_id: str,
) -> ProfileChange:
    """Fold one ``hr.employees`` event into the profile (``None``: not seen before)."""
    before = profile or Profile(employee_id=event.employee_id)
    stamp = _stamp(time, event_id)
    if isinstance(event, EmployeeLeft):
        after = before
        if stamp > before.left:
            after = replace(
                before, left=stamp, last_day=event.last_day.isoformat() if event.last_day else before.last_day
            )
        return _published(before, after)
    sent = event.model_dump(mode="json", include=event.model_fields_set - {"employee_id"})
    after = _merge_hr(before, sent, stamp)
    if isinstance(event, EmployeeJoined) and stamp > after.joined:
        after = replace(after, joined=stamp)
    return _published(before, after)


def edit_mentoring(profile: Profile, changes: Mapping[str, Any]) -> ProfileChange:
    """A self-service edit of the mentoring fields (JSON values, already validated)."""
    if profile.status != "active":
        raise InactiveProfileError(f"profile {profile.employee_id} is {profile.status}")
    after = replace(profile, mentoring=profile.mentoring.edited(changes))
    return _published(profile, after)


def set_groups(profile: Profile, groups: tuple[str, ...]) -> ProfileChange:
    """The SCIM groups the employee is in now (an erased profile keeps none)."""
    if profile.status == "erased":
        return ProfileChange(profile, None)
    return _published(profile, replace(profile, groups=tuple(sorted(set(groups)))))


def set_scim_account(profile: Profile, account: ScimAccount | None) -> Profile:
    """The SCIM login name and attributes as sent; nothing downstream hears of them."""
    return replace(profile, scim=account)


def erase(profile: Profile, *, time: datetime, event_id: str) -> ProfileChange:
    """Forget the personal data; keep only the employee id and status."""
    if profile.status == "erased":
        return ProfileChange(profile, None)
    stamp = _stamp(time, event_id)
    after = replace(
        profile,
        hr=HrRecord(),
        hr_stamps=dict.fromkeys(profile.hr_stamps, stamp),
        mentoring=Mentoring(),
        erased=max(stamp, profile.joined, profile.left),
        last_day=None,
        groups=(),
        scim=None,
    )
    return _published(profile, after)
