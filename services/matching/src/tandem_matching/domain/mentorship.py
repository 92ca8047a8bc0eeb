"""A mentorship as an aggregate: its state machine, the seats it takes, and new proposals."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final

from .lifecycle import Action, ActorRole, EndReason, NotPermitted, Origin, State, transition
from .suggestions import Explanation

__all__ = [
    "CLOSED",
    "GIVE_BACK_A_SEAT",
    "OPEN",
    "TAKE_A_SEAT",
    "MentorLoad",
    "Mentorship",
    "Seats",
]

OPEN: Final = (State.PROPOSED, State.ACCEPTED)
CLOSED: Final = (State.DECLINED, State.ENDED)  # pairs never suggested or proposed again


@dataclass(frozen=True, slots=True)
class Seats:
    """A mentor's taken seats: `active` counts proposed and accepted mentorships, `pending` the
    proposed ones (the demand on the mentor). As a change, the numbers may be negative."""

    active: int = 0
    pending: int = 0

    def plus(self, change: Seats) -> Seats:
        """These seats after `change`, never below zero."""
        return Seats(max(0, self.active + change.active), max(0, self.pending + change.pending))


TAKE_A_SEAT: Final = Seats(1, 1)  # a new proposal
GIVE_BACK_A_SEAT: Final = Seats(-1, -1)  # ... that was never stored
_SEAT_CHANGE: Final[dict[tuple[State, State], Seats]] = {
    (State.PROPOSED, State.ACCEPTED): Seats(0, -1),
    (State.PROPOSED, State.DECLINED): Seats(-1, -1),
    (State.PROPOSED, State.EXPIRED): Seats(-1, -1),
    (State.PROPOSED, State.ENDED): Seats(-1, -1),
    (State.ACCEPTED, State.ENDED): Seats(-1, 0),
}


@dataclass(frozen=True, slots=True)
class MentorLoad:
    """The seats taken with one mentor; `version` is the one stored (0: never stored)."""

    mentor_id: str
    seats: Seats = field(default_factory=Seats)
    version: int = 0

    def has_room(self, capacity: int) -> bool:
        return self.seats.active < capacity

    def changed(self, seats: Seats) -> MentorLoad:
        """The next version with these seats."""
        return MentorLoad(self.mentor_id, seats, self.version + 1)


@dataclass(frozen=True, slots=True)
class Mentorship:
    """One mentor-mentee pair from proposal to outcome; `version` is the one it has once stored
    (a change carries the next version; the repository writes it only over the one before)."""

    mentorship_id: str
    mentor_id: str
    mentee_id: str
    status: State = State.PROPOSED
    origin: Origin = "request"
    program_id: str | None = None
    round_id: str | None = None
    score: float | None = None
    breakdown: dict[str, float] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    message: str | None = None
    reason: EndReason | None = None
    proposed_at: datetime | None = None
    expires_at: datetime | None = None
    accepted_at: datetime | None = None
    ended_at: datetime | None = None
    replaces_mentorship_id: str | None = None
    version: int = 1

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def role_of(self, actor_id: str | None, action: Action, *, as_system: bool) -> ActorRole:
        """The actor's part in this mentorship; raises `NotPermitted` for anyone else."""
        if actor_id == self.mentor_id:
            return "mentor"
        if actor_id == self.mentee_id:
            return "mentee"
        if as_system:
            return "system"
        raise NotPermitted(action, "non-party")

    def act(
        self, action: Action, role: ActorRole, *, at: datetime, reason: EndReason | str | None = None
    ) -> Mentorship:
        """The next version after `action` (raises `IllegalTransition` / `NotPermitted`)."""
        target = transition(self.status, action, role, origin=self.origin, reason=reason)
        if target is State.ACCEPTED:
            return replace(self, status=target, accepted_at=at, version=self.version + 1)
        ended = EndReason(reason) if target is State.ENDED and reason is not None else self.reason
        return replace(self, status=target, ended_at=at, reason=ended, version=self.version + 1)

    def without_message(self) -> Mentorship:
        return replace(self, message=None, version=self.version + 1)

    def seat_change(self, after: Mentorship) -> Seats:
        """What moving from this state to `after`'s does to the mentor's seats."""
        return _SEAT_CHANGE.get((self.status, after.status), Seats())

    @classmethod
    def proposal(
        cls,
        mentorship_id: str,
        *,
        mentor_id: str,
        mentee_id: str,
        origin: Origin,
        score: float,
        explanation: Explanation,
        at: datetime,
        expiry: timedelta,
        program_id: str | None = None,
        round_id: str | None = None,
        message: str | None = None,
        replaces: str | None = None,
    ) -> Mentorship:
        """A new proposal with its explained score, answered before `at + expiry` or expired."""
        return cls(
            mentorship_id=mentorship_id,
            mentor_id=mentor_id,
            mentee_id=mentee_id,
            origin=origin,
            program_id=program_id,
            round_id=round_id,
            score=round(score, 4),
            breakdown=dict(explanation.breakdown),
            reasons=tuple(explanation.reasons),
            message=message,
            proposed_at=at,
            expires_at=at + expiry,
            replaces_mentorship_id=replaces,
        )
