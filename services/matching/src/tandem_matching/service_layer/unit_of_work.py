"""What every use case works with: the repositories (as Protocols), the mentor pool, the clock
and the settings, in one `UnitOfWork` built once by ``bootstrap.py`` (unit tests pass fakes).

The repositories publish too: a write of a mentorship or a program stores the events it causes
in the aggregate's own outbox, in the same single-document write (the chassis relays them).
Writes of aggregates are guarded by version: a change carries the version it will have, and
the write lands only over the one before it (else it returns False and the caller retries).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from tandem_contracts import ProfileSnapshot

from tandem_matching.config import Settings
from tandem_matching.domain.learning import RecordedOutcome
from tandem_matching.domain.lifecycle import State
from tandem_matching.domain.mentorship import MentorLoad, Mentorship, Seats
from tandem_matching.domain.model import PoolSnapshot, ProfileEntry
from tandem_matching.domain.programs import Program, Round
from tandem_matching.service_layer.clock import utcnow

if TYPE_CHECKING:
    from tandem_matching.service_layer.pool import MentorPool

__all__ = [
    "MentorLoads",
    "Mentorships",
    "Outcomes",
    "PoolSnapshots",
    "Profiles",
    "Programs",
    "Rounds",
    "UnitOfWork",
]


class Profiles(Protocol):
    """The projection of ``tandem.profiles``: the newest snapshot per employee."""

    async def apply(self, snapshot: ProfileSnapshot) -> bool: ...
    async def apply_many(self, snapshots: list[ProfileSnapshot]) -> int: ...
    async def get(self, employee_id: str) -> ProfileEntry | None: ...
    async def changed_since(self, seq: int) -> list[ProfileEntry]: ...
    async def last_seq(self) -> int: ...


class PoolSnapshots(Protocol):
    """The mentor pool's people as of a projection number, so a start reads little."""

    async def load(self) -> PoolSnapshot | None: ...
    async def save(self, snapshot: PoolSnapshot) -> None: ...
    async def stored_seq(self) -> int | None: ...


class Mentorships(Protocol):
    async def get(self, mentorship_id: str) -> Mentorship | None: ...
    async def add(self, proposal: Mentorship) -> bool: ...
    async def save(self, changed: Mentorship) -> bool: ...
    async def forget_message(self, changed: Mentorship) -> bool: ...
    async def find(
        self,
        *,
        mentee_id: str | None = None,
        mentee_ids: list[str] | None = None,
        mentor_id: str | None = None,
        program_id: str | None = None,
        statuses: Iterable[State] | None = None,
        limit: int = 0,
    ) -> list[Mentorship]: ...
    async def of_employee(
        self, employee_id: str, *, status: State | None, limit: int
    ) -> list[Mentorship]: ...
    async def due_to_expire(self, now: datetime, *, limit: int = 500) -> list[str]: ...
    async def open_counts(self) -> dict[str, Seats]: ...


class MentorLoads(Protocol):
    async def get(self, mentor_id: str) -> MentorLoad | None: ...
    async def put(self, load: MentorLoad) -> bool: ...
    async def all(self) -> dict[str, Seats]: ...
    async def of(self, mentor_ids: list[str]) -> dict[str, Seats]: ...


class Programs(Protocol):
    async def get(self, program_id: str) -> Program | None: ...
    async def add(self, program: Program) -> bool: ...
    async def save(self, changed: Program, *, completed: Round | None = None) -> bool: ...
    async def list(self, *, limit: int) -> list[Program]: ...


class Rounds(Protocol):
    async def put(self, done: Round) -> None: ...
    async def get(self, round_id: str) -> Round | None: ...
    async def claim_lease(self, program_id: str, holder: str, *, now: datetime, lease: timedelta) -> bool: ...
    async def release_lease(self, program_id: str, holder: str) -> None: ...


class Outcomes(Protocol):
    """Recorded outcomes, one per mentorship, beside the breakdown it was proposed with."""

    async def put(self, outcome: RecordedOutcome) -> None: ...
    async def find(self, *, program_id: str | None = None) -> list[RecordedOutcome]: ...


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class UnitOfWork:
    profiles: Profiles
    mentorships: Mentorships
    loads: MentorLoads
    programs: Programs
    rounds: Rounds
    outcomes: Outcomes
    pool: MentorPool
    settings: Settings
    clock: Callable[[], datetime] = utcnow
    new_id: Callable[[], str] = field(default=_new_id)

    @property
    def default_expiry(self) -> timedelta:
        """How long a proposal waits for an answer unless its program says otherwise."""
        return timedelta(days=self.settings.proposal_expiry_days)
