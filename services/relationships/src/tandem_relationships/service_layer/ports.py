"""What the use cases need, as Protocols, and the one unit of work that carries it.

The repositories take and return domain objects; events reach Kafka through the outbox the
relationship repository writes in the same single-document update as the state (so the
repository is also the publisher). ``bootstrap.py`` builds the real unit of work, unit tests
an in-memory one.
"""

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from tandem_contracts import EventData

from tandem_relationships.config import Settings
from tandem_relationships.domain.model import ProgramSettings, Relationship
from tandem_relationships.domain.people import Person

__all__ = [
    "Clock",
    "Loaded",
    "PeopleRepository",
    "ProgramRepository",
    "RelationshipRepository",
    "Revision",
    "StepClaims",
    "UnitOfWork",
]


@dataclass(frozen=True, slots=True)
class Revision:
    """Which stored write a relationship was read at (for the version-checked write back)."""

    version: int
    outbox_seq: int = 0
    seen_events: tuple[str, ...] = ()

    def has_seen(self, event_id: str | None) -> bool:
        return event_id is not None and event_id in self.seen_events


@dataclass(frozen=True, slots=True)
class Loaded:
    relationship: Relationship
    revision: Revision


class RelationshipRepository(Protocol):
    async def get(self, mentorship_id: str) -> Loaded | None: ...

    async def add(
        self, relationship: Relationship, events: Sequence[EventData], *, caused_by: str | None = None
    ) -> bool:
        """Store a new relationship with its events; False if it exists."""

    async def save(
        self,
        revision: Revision,
        relationship: Relationship,
        events: Sequence[EventData],
        *,
        caused_by: str | None = None,
    ) -> bool:
        """Write state and events if nobody wrote since ``revision``; False on a lost race."""

    async def of_employee(self, employee_id: str) -> list[Relationship]: ...

    async def find(
        self, *, program_id: str | None = None, status: str | None = None, health: str | None = None
    ) -> list[Relationship]: ...

    async def noted_by(self, employee_id: str) -> list[Relationship]:
        """The relationships holding an admin note ``employee_id`` wrote."""

    async def open_ones(self) -> list[Loaded]: ...


class PeopleRepository(Protocol):
    async def get(self, employee_id: str) -> Person | None: ...

    async def many(self, employee_ids: Sequence[str]) -> dict[str, Person]: ...

    async def record_many(self, persons: Iterable[Person]) -> set[str]:
        """Store the profile part of each person unless a newer version is stored; the ids stored."""

    async def set_feed_secret(self, employee_id: str, secret: str) -> None: ...


class ProgramRepository(Protocol):
    async def get(self, program_id: str) -> ProgramSettings | None: ...

    async def all(self) -> dict[str, ProgramSettings]: ...

    async def record(self, program: ProgramSettings) -> None: ...


class StepClaims(Protocol):
    async def claim(self, mentorship_id: str, version: int) -> bool:
        """True if this replica (and no other) may write steps from this stored version."""

    async def forget_old(self) -> None: ...


def _random_id() -> str:
    return uuid.uuid4().hex


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class UnitOfWork:
    relationships: RelationshipRepository
    people: PeopleRepository
    programs: ProgramRepository
    claims: StepClaims
    clock: Clock
    settings: Settings
    new_id: Callable[[], str] = field(default=_random_id)
