"""Factories for matching's unit tests, and in-memory fakes of its unit of work."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from tandem_contracts import ProfileRegistered, ProfileSnapshot
from tandem_matching.adapters.contract import mentorship_event, program_created, round_completed
from tandem_matching.adapters.profiles_projection import entry_of
from tandem_matching.config import Settings
from tandem_matching.domain.learning import RecordedOutcome
from tandem_matching.domain.lifecycle import State
from tandem_matching.domain.mentorship import MentorLoad, Mentorship, Seats
from tandem_matching.domain.model import Person, PoolSnapshot, ProfileEntry
from tandem_matching.domain.programs import Program, Round
from tandem_matching.service_layer.pool import MentorPool
from tandem_matching.service_layer.unit_of_work import UnitOfWork

PersonFactory = Callable[..., Person]


def _person(role: str, employee_id: str, **overrides: Any) -> Person:
    defaults: dict[str, Any] = {
        "employee_id": employee_id,
        "roles": frozenset({role}),
        "level": 5 if role == "mentor" else 2,
        "department": "eng",
        "timezone": "Europe/Berlin",
        "languages": ("en",),
        "mentor_capacity": 2 if role == "mentor" else 0,
    }
    defaults.update(overrides)
    return Person(**defaults)


@pytest.fixture(scope="session")
def mentor() -> PersonFactory:
    return lambda employee_id="mentor-1", **kw: _person("mentor", employee_id, **kw)


@pytest.fixture(scope="session")
def mentee() -> PersonFactory:
    return lambda employee_id="mentee-1", **kw: _person("mentee", employee_id, **kw)


# -- in-memory fakes of the unit of work's Protocols (no I/O) ---------------------------------


class FakeProfiles:
    def __init__(self) -> None:
        self.entries: dict[str, ProfileEntry] = {}
        self.seq = 0
        self.reads: list[int] = []  # the numbers ``changed_since`` was asked for

    async def apply(self, snapshot: ProfileSnapshot) -> bool:
        stored = self.entries.get(snapshot.employee_id)
        if stored is not None and stored.version >= snapshot.version:
            return False
        self.seq += 1
        self.entries[snapshot.employee_id] = entry_of(snapshot, seq=self.seq)
        return True

    async def apply_many(self, snapshots: list[ProfileSnapshot]) -> int:
        return sum([await self.apply(s) for s in snapshots])

    async def get(self, employee_id: str) -> ProfileEntry | None:
        return self.entries.get(employee_id)

    async def changed_since(self, seq: int) -> list[ProfileEntry]:
        self.reads.append(seq)
        return [e for e in self.entries.values() if e.seq > seq]

    async def last_seq(self) -> int:
        return self.seq


class FakePoolSnapshots:
    def __init__(self) -> None:
        self.stored: PoolSnapshot | None = None
        self.saves = 0

    async def load(self) -> PoolSnapshot | None:
        return self.stored

    async def save(self, snapshot: PoolSnapshot) -> None:
        self.stored, self.saves = snapshot, self.saves + 1

    async def stored_seq(self) -> int | None:
        return self.stored.seq if self.stored else None


class FakeMentorships:
    """Keeps the published events in ``events`` as the outbox would publish them."""

    def __init__(self) -> None:
        self.stored: dict[str, Mentorship] = {}
        self.events: list[Any] = []
        self.lose_writes = 0  # the next writes lose a version race

    async def get(self, mentorship_id: str) -> Mentorship | None:
        return self.stored.get(mentorship_id)

    async def add(self, proposal: Mentorship) -> bool:
        if proposal.mentorship_id in self.stored:
            return False
        self.stored[proposal.mentorship_id] = proposal
        self.events.append(mentorship_event(proposal))
        return True

    def _lands(self, changed: Mentorship) -> bool:
        if self.lose_writes:
            self.lose_writes -= 1
            return False
        stored = self.stored.get(changed.mentorship_id)
        return stored is not None and stored.version == changed.version - 1

    async def save(self, changed: Mentorship) -> bool:
        if not self._lands(changed):
            return False
        self.stored[changed.mentorship_id] = changed
        self.events.append(mentorship_event(changed))
        return True

    async def forget_message(self, changed: Mentorship) -> bool:
        if not self._lands(changed):
            return False
        self.stored[changed.mentorship_id] = changed
        return True

    async def find(
        self,
        *,
        mentee_id: str | None = None,
        mentee_ids: list[str] | None = None,
        mentor_id: str | None = None,
        program_id: str | None = None,
        statuses: Iterable[State] | None = None,
        limit: int = 0,
    ) -> list[Mentorship]:
        wanted = set(statuses) if statuses is not None else None
        found = [
            m
            for _, m in sorted(self.stored.items())
            if (mentee_id is None or m.mentee_id == mentee_id)
            and (mentee_ids is None or m.mentee_id in mentee_ids)
            and (mentor_id is None or m.mentor_id == mentor_id)
            and (program_id is None or m.program_id == program_id)
            and (wanted is None or m.status in wanted)
        ]
        return found[:limit] if limit else found

    async def of_employee(self, employee_id: str, *, status: State | None, limit: int) -> list[Mentorship]:
        statuses = [status] if status else None
        found = await self.find(mentee_id=employee_id, statuses=statuses)
        found += await self.find(mentor_id=employee_id, statuses=statuses)
        found.sort(key=lambda m: m.mentorship_id)
        return found[:limit] if limit else found

    async def due_to_expire(self, now: datetime, *, limit: int = 500) -> list[str]:
        due = [
            m.mentorship_id
            for m in self.stored.values()
            if m.status is State.PROPOSED and m.expires_at is not None and m.expires_at <= now
        ]
        return due[:limit]

    async def open_counts(self) -> dict[str, Seats]:
        counts: dict[str, Seats] = {}
        for m in self.stored.values():
            if m.is_open:
                pending = 1 if m.status is State.PROPOSED else 0
                counts[m.mentor_id] = counts.get(m.mentor_id, Seats()).plus(Seats(1, pending))
        return counts


class FakeMentorLoads:
    def __init__(self) -> None:
        self.stored: dict[str, MentorLoad] = {}

    async def get(self, mentor_id: str) -> MentorLoad | None:
        return self.stored.get(mentor_id)

    async def put(self, load: MentorLoad) -> bool:
        before = self.stored.get(load.mentor_id)
        if (before.version if before else 0) != load.version - 1:
            return False
        self.stored[load.mentor_id] = load
        return True

    async def all(self) -> dict[str, Seats]:
        return {k: v.seats for k, v in self.stored.items()}

    async def of(self, mentor_ids: list[str]) -> dict[str, Seats]:
        return {k: v.seats for k, v in self.stored.items() if k in mentor_ids}


class FakePrograms:
    def __init__(self) -> None:
        self.stored: dict[str, Program] = {}
        self.events: list[Any] = []

    async def get(self, program_id: str) -> Program | None:
        return self.stored.get(program_id)

    async def add(self, program: Program) -> bool:
        if program.program_id in self.stored:
            return False
        self.stored[program.program_id] = program
        self.events.append(program_created(program))
        return True

    async def save(self, changed: Program, *, completed: Round | None = None) -> bool:
        stored = self.stored.get(changed.program_id)
        if stored is None or stored.version != changed.version - 1:
            return False
        self.stored[changed.program_id] = changed
        if completed is not None:
            self.events.append(round_completed(changed, completed))
        return True

    async def list(self, *, limit: int) -> list[Program]:
        return sorted(self.stored.values(), key=lambda p: p.created_at, reverse=True)[:limit]


class FakeOutcomes:
    def __init__(self) -> None:
        self.items: dict[str, RecordedOutcome] = {}

    async def put(self, outcome: RecordedOutcome) -> None:
        self.items[outcome.mentorship_id] = outcome

    async def find(self, *, program_id: str | None = None) -> list[RecordedOutcome]:
        return [o for _, o in sorted(self.items.items()) if program_id in (None, o.program_id)]


class FakeRounds:
    def __init__(self) -> None:
        self.stored: dict[str, Round] = {}
        self.leases: dict[str, tuple[str, datetime]] = {}

    async def claim_lease(self, program_id: str, holder: str, *, now: datetime, lease: timedelta) -> bool:
        held = self.leases.get(program_id)
        if held is not None and held[1] >= now:
            return False
        self.leases[program_id] = (holder, now + lease)
        return True

    async def release_lease(self, program_id: str, holder: str) -> None:
        if self.leases.get(program_id, ("", None))[0] == holder:
            del self.leases[program_id]

    async def put(self, done: Round) -> None:
        self.stored[done.round_id] = done

    async def get(self, round_id: str) -> Round | None:
        return self.stored.get(round_id)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def uow() -> UnitOfWork:
    """A unit of work on in-memory fakes: ``uow.mentorships.events`` are the published events."""
    profiles, loads = FakeProfiles(), FakeMentorLoads()
    ids = itertools.count(1)
    return UnitOfWork(
        profiles=profiles,
        mentorships=FakeMentorships(),
        loads=loads,
        programs=FakePrograms(),
        rounds=FakeRounds(),
        outcomes=FakeOutcomes(),
        pool=MentorPool(projection=profiles, loads=loads, refresh_interval_s=1.0),
        settings=Settings(proposal_expiry_days=7, max_suggestions=50),
        clock=FakeClock(),
        new_id=lambda: f"id{next(ids)}",
    )


def _profile(employee_id: str, role: str, version: int, **fields: Any) -> ProfileSnapshot:
    values: dict[str, Any] = {
        "department": "eng",
        "level": 5 if role == "mentor" else 2,
        "timezone": "Europe/Berlin",
        "languages": ["en"],
        "roles": [role],
    }
    if role == "mentor":
        values |= {"skills": [{"name": "python", "level": 4}], "mentor_capacity": 2}
    else:
        values |= {"goals": [{"name": "python", "level": 3}]}
    status = fields.pop("status", "active")
    return ProfileRegistered(employee_id=employee_id, version=version, status=status, **(values | fields))


@pytest.fixture(scope="session")
def profile() -> SimpleNamespace:
    """Profile snapshot factories: ``profile.mentor("m1", mentor_capacity=1)``, ``.mentee(...)``."""
    return SimpleNamespace(
        mentor=lambda employee_id, version=1, **kw: _profile(employee_id, "mentor", version, **kw),
        mentee=lambda employee_id, version=1, **kw: _profile(employee_id, "mentee", version, **kw),
    )
