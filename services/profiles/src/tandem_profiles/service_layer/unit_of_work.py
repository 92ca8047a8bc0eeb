"""What the use cases of the profiles service work with: one unit of work, built in bootstrap.

The repositories are Protocols that take and return domain objects; ``adapters/`` has the
MongoDB ones, the unit tests an in-memory fake.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from tandem_contracts import EventData

from tandem_profiles.domain.groups import Group
from tandem_profiles.domain.profile import Profile, ProfileChange

__all__ = [
    "GroupRepository",
    "LoadedGroup",
    "LoadedProfile",
    "ProfileRepository",
    "ProfileWrite",
    "UnitOfWork",
]


@dataclass(frozen=True, eq=False)
class LoadedProfile:
    """A profile as read, with what a version-guarded write of it needs.

    ``revision`` counts the stored writes (the SCIM ETag); ``handle`` is the adapter's own
    record of what it read, opaque above it.
    """

    profile: Profile
    revision: int
    seen_events: frozenset[str] = frozenset()
    handle: object = field(default=None, repr=False)

    def has_seen(self, event_id: str | None) -> bool:
        return event_id is not None and event_id in self.seen_events


@dataclass(frozen=True, eq=False)
class ProfileWrite:
    """One profile's new state after ``loaded`` (None: a new profile) and the events it caused."""

    loaded: LoadedProfile | None
    profile: Profile
    events: list[EventData]
    caused_by: list[str]


class ProfileRepository(Protocol):
    def event_of(self, change: ProfileChange) -> EventData | None:
        """The ``tandem.profiles`` event a change publishes, if any."""
        ...

    async def load(self, employee_id: str) -> LoadedProfile | None: ...

    async def load_many(self, employee_ids: list[str]) -> dict[str, LoadedProfile]: ...

    async def save(
        self, loaded: LoadedProfile | None, change: ProfileChange, *, caused_by: str | None
    ) -> bool:
        """Write the changed profile and its event in one write; False if it lost a race."""
        ...

    async def save_many(self, writes: list[ProfileWrite]) -> list[bool]: ...

    async def search(
        self,
        *,
        role: str | None,
        skill: str | None,
        department: str | None,
        status: str | None,
        limit: int,
        after: str | None,
    ) -> list[Profile]: ...

    async def due_for_erasure(self, now: datetime, *, limit: int = 500) -> list[str]: ...

    async def find_by_user_name(self, user_name: str, *, limit: int = 50) -> list[LoadedProfile]:
        """Known profiles whose SCIM userName is this one, compared case-insensitively."""
        ...

    async def page(self, *, skip: int, limit: int, hiding_left_by: str) -> tuple[int, list[LoadedProfile]]:
        """Known, unerased profiles in id order (leaving out those whose left event id starts
        with ``hiding_left_by``), and how many there are in all."""
        ...


@dataclass(frozen=True, eq=False)
class LoadedGroup:
    group: Group
    revision: int


class GroupRepository(Protocol):
    async def load(self, group_id: str) -> LoadedGroup | None: ...

    async def create(self, group: Group) -> bool:
        """Store a new group; False if the id is taken."""
        ...

    async def save(self, group: Group, *, revision: int) -> bool:
        """Replace the group read at ``revision``; False if it changed since."""
        ...

    async def delete(self, group_id: str) -> None: ...

    async def find_by_display_name(self, display_name: str) -> list[LoadedGroup]: ...

    async def page(self, *, skip: int, limit: int) -> tuple[int, list[LoadedGroup]]: ...

    async def ids_with_member(self, employee_id: str) -> list[str]: ...


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class UnitOfWork:
    """Everything a profiles use case needs: the repositories and the clock."""

    profiles: ProfileRepository
    groups: GroupRepository
    clock: Callable[[], datetime] = _now
