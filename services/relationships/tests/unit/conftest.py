"""In-memory fakes of the relationships service's Protocols, and a unit of work built on them."""

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from itertools import count
from typing import Any

import pytest
from tandem_contracts import EventData
from tandem_relationships.config import Settings
from tandem_relationships.domain.model import ProgramSettings, Relationship
from tandem_relationships.domain.people import Person
from tandem_relationships.service_layer.clock import SettableClock
from tandem_relationships.service_layer.ports import Loaded, Revision, UnitOfWork

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeRelationships:
    """Stores each relationship as JSON with a version, like the Mongo adapter, and every
    event written with it (the outbox)."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[dict[str, Any], Revision]] = {}
        self.published: list[EventData] = []
        self.lose_next_writes = 0  # simulate another replica winning the race

    async def get(self, mentorship_id: str) -> Loaded | None:
        row = self.rows.get(mentorship_id)
        return Loaded(Relationship.model_validate(row[0]), row[1]) if row else None

    async def add(
        self, relationship: Relationship, events: Sequence[EventData], *, caused_by: str | None = None
    ) -> bool:
        if relationship.mentorship_id in self.rows:
            return False
        seen = (caused_by,) if caused_by else ()
        self.rows[relationship.mentorship_id] = (
            relationship.model_dump(mode="json"),
            Revision(1, len(events), seen),
        )
        self.published += events
        return True

    async def save(
        self,
        revision: Revision,
        relationship: Relationship,
        events: Sequence[EventData],
        *,
        caused_by: str | None = None,
    ) -> bool:
        stored = self.rows[relationship.mentorship_id][1]
        if self.lose_next_writes:
            self.lose_next_writes -= 1
            self.rows[relationship.mentorship_id] = (
                self.rows[relationship.mentorship_id][0],
                Revision(stored.version + 1, stored.outbox_seq, stored.seen_events),
            )
            return False
        if stored.version != revision.version:
            return False
        seen = (*stored.seen_events, caused_by) if caused_by else stored.seen_events
        self.rows[relationship.mentorship_id] = (
            relationship.model_dump(mode="json"),
            Revision(stored.version + 1, stored.outbox_seq + len(events), seen),
        )
        self.published += events
        return True

    async def of_employee(self, employee_id: str) -> list[Relationship]:
        return [
            Relationship.model_validate(state)
            for state, _ in self.rows.values()
            if employee_id in (state["mentor_id"], state["mentee_id"])
        ]

    async def find(
        self, *, program_id: str | None = None, status: str | None = None, health: str | None = None
    ) -> list[Relationship]:
        wanted = {"program_id": program_id, "status": status, "health": health}
        return [
            Relationship.model_validate(state)
            for state, _ in sorted(self.rows.values(), key=lambda row: row[0]["mentorship_id"])
            if all(value is None or state[name] == value for name, value in wanted.items())
        ]

    async def noted_by(self, employee_id: str) -> list[Relationship]:
        return [
            Relationship.model_validate(state)
            for state, _ in self.rows.values()
            if any(note["author_id"] == employee_id for note in state.get("admin_notes", []))
        ]

    async def open_ones(self) -> list[Loaded]:
        return [
            Loaded(Relationship.model_validate(state), revision)
            for state, revision in self.rows.values()
            if state["status"] == "open"
        ]

    def types(self) -> list[str]:
        from tandem_contracts.registry import type_of

        return [type_of(event).name for event in self.published]


class FakePeople:
    def __init__(self) -> None:
        self.people: dict[str, Person] = {}

    async def get(self, employee_id: str) -> Person | None:
        return self.people.get(employee_id)

    async def many(self, employee_ids: Sequence[str]) -> dict[str, Person]:
        return {i: self.people[i] for i in employee_ids if i in self.people}

    async def record_many(self, persons: Iterable[Person]) -> set[str]:
        return {person.employee_id for person in persons if self._record(person)}

    def _record(self, person: Person) -> bool:
        stored = self.people.get(person.employee_id)
        if stored is not None and stored.version >= person.version:
            return False
        secret = None if person.status == "erased" or stored is None else stored.feed_secret
        self.people[person.employee_id] = person.model_copy(update={"feed_secret": secret})
        return True

    async def set_feed_secret(self, employee_id: str, secret: str) -> None:
        stored = self.people.get(employee_id) or Person(employee_id=employee_id)
        self.people[employee_id] = stored.model_copy(update={"feed_secret": secret})


class FakePrograms:
    def __init__(self) -> None:
        self.programs: dict[str, ProgramSettings] = {}

    async def get(self, program_id: str) -> ProgramSettings | None:
        return self.programs.get(program_id)

    async def all(self) -> dict[str, ProgramSettings]:
        return dict(self.programs)

    async def record(self, program: ProgramSettings) -> None:
        self.programs[program.program_id] = program


class FakeClaims:
    """One claim per (relationship, version), like the unique insert; a test may say another
    replica holds a relationship's claims."""

    def __init__(self) -> None:
        self.held_elsewhere: set[str] = set()
        self.claimed: set[tuple[str, int]] = set()

    async def claim(self, mentorship_id: str, version: int) -> bool:
        if mentorship_id in self.held_elsewhere or (mentorship_id, version) in self.claimed:
            return False
        self.claimed.add((mentorship_id, version))
        return True

    async def forget_old(self) -> None:
        pass


@pytest.fixture
def uow() -> UnitOfWork:
    ids = count(1)
    return UnitOfWork(
        relationships=FakeRelationships(),
        people=FakePeople(),
        programs=FakePrograms(),
        claims=FakeClaims(),
        clock=SettableClock(START),
        settings=Settings(),
        new_id=lambda: f"s{next(ids)}",
    )


@pytest.fixture
def relationship() -> Relationship:
    return Relationship(
        mentorship_id="m-1",
        mentor_id="mentor-1",
        mentee_id="mentee-1",
        program_id="p-1",
        opened_at=START,
        default_end_date=datetime(2026, 8, 29).date(),
    )
