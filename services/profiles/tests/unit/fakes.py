"""In-memory fakes of the profiles repositories (the Protocols of ``service_layer.unit_of_work``)."""

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from tandem_contracts import EventData
from tandem_profiles.adapters.repository import event_of
from tandem_profiles.domain.groups import Group
from tandem_profiles.domain.profile import Profile, ProfileChange
from tandem_profiles.service_layer.unit_of_work import (
    LoadedGroup,
    LoadedProfile,
    ProfileWrite,
    UnitOfWork,
)


@dataclass
class FakeProfiles:
    retention: timedelta = timedelta(days=30)
    stored: dict[str, LoadedProfile] = field(default_factory=dict)
    published: list[EventData] = field(default_factory=list)
    lose_next_writes: int = 0  # a concurrent writer wins this many times

    def event_of(self, change: ProfileChange) -> EventData | None:
        return event_of(change)

    async def load(self, employee_id: str) -> LoadedProfile | None:
        return self.stored.get(employee_id)

    async def load_many(self, employee_ids: list[str]) -> dict[str, LoadedProfile]:
        return {eid: self.stored[eid] for eid in employee_ids if eid in self.stored}

    def _write(self, loaded: LoadedProfile | None, profile: Profile, events, caused_by) -> bool:
        if self.lose_next_writes:
            self.lose_next_writes -= 1
            return False
        current = self.stored.get(profile.employee_id)
        if (current.revision if current else 0) != (loaded.revision if loaded else 0):
            return False
        seen = (loaded.seen_events if loaded else frozenset()) | set(caused_by)
        self.stored[profile.employee_id] = LoadedProfile(
            profile, (loaded.revision if loaded else 0) + 1, seen
        )
        self.published.extend(events)
        return True

    async def save(
        self, loaded: LoadedProfile | None, change: ProfileChange, *, caused_by: str | None
    ) -> bool:
        event = event_of(change)
        return self._write(loaded, change.profile, [event] if event else [], [caused_by] if caused_by else [])

    async def save_many(self, writes: list[ProfileWrite]) -> list[bool]:
        return [self._write(w.loaded, w.profile, w.events, w.caused_by) for w in writes]

    async def search(self, *, role, skill, department, status, limit, after) -> list[Profile]:
        found = sorted(
            (p.profile for p in self.stored.values() if p.profile.known), key=lambda p: p.employee_id
        )
        return [p for p in found if (status is None or p.status == status)][:limit]

    async def due_for_erasure(self, now: datetime, *, limit: int = 500) -> list[str]:
        def due(profile: Profile) -> bool:
            left = datetime.fromisoformat(profile.left[0].replace("Z", "+00:00")) if profile.left[0] else None
            return profile.status == "inactive" and left is not None and left + self.retention <= now

        return [eid for eid, loaded in self.stored.items() if due(loaded.profile)][:limit]

    async def find_by_user_name(self, user_name: str, *, limit: int = 50) -> list[LoadedProfile]:
        return [
            loaded
            for loaded in self.stored.values()
            if loaded.profile.known and loaded.profile.scim_user_name.lower() == user_name.lower()
        ][:limit]

    async def page(self, *, skip: int, limit: int, hiding_left_by: str) -> tuple[int, list[LoadedProfile]]:
        shown = [
            loaded
            for _, loaded in sorted(self.stored.items())
            if loaded.profile.known
            and loaded.profile.status != "erased"
            and not (
                loaded.profile.status == "inactive" and loaded.profile.left[1].startswith(hiding_left_by)
            )
        ]
        return len(shown), shown[skip : skip + max(limit, 0)]


@dataclass
class FakeGroups:
    stored: dict[str, LoadedGroup] = field(default_factory=dict)

    async def load(self, group_id: str) -> LoadedGroup | None:
        return self.stored.get(group_id)

    async def create(self, group: Group) -> bool:
        if group.group_id in self.stored:
            return False
        self.stored[group.group_id] = LoadedGroup(group, 1)
        return True

    async def save(self, group: Group, *, revision: int) -> bool:
        current = self.stored.get(group.group_id)
        if current is None or current.revision != revision:
            return False
        self.stored[group.group_id] = replace(current, group=group, revision=revision + 1)
        return True

    async def delete(self, group_id: str) -> None:
        self.stored.pop(group_id, None)

    async def find_by_display_name(self, display_name: str) -> list[LoadedGroup]:
        return [g for g in self.stored.values() if g.group.display_name.lower() == display_name.lower()]

    async def page(self, *, skip: int, limit: int) -> tuple[int, list[LoadedGroup]]:
        groups = [g for _, g in sorted(self.stored.items())]
        return len(groups), groups[skip : skip + max(limit, 0)]

    async def ids_with_member(self, employee_id: str) -> list[str]:
        return sorted(gid for gid, g in self.stored.items() if employee_id in g.group.member_ids)


T0 = datetime(2026, 1, 1, tzinfo=UTC)


def fake_unit_of_work(start: datetime = T0) -> tuple[UnitOfWork, FakeProfiles, FakeGroups]:
    """A unit of work on fakes, with a clock that moves a millisecond per reading."""
    profiles, groups = FakeProfiles(), FakeGroups()
    ticks = iter(range(10**9))

    def clock() -> datetime:
        return start + timedelta(milliseconds=next(ticks))

    return UnitOfWork(profiles=profiles, groups=groups, clock=clock), profiles, groups
