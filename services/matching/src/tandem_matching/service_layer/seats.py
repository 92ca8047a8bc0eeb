"""Mentor seats: taken by a proposal, given back when it ends, recounted when they drift.

Capacity is decided per mentor under this process's lock for the mentor (FerretDB's conditional
updates are not atomic under concurrent writers) and recorded with a version check on the
mentor's load document, so replicas cannot oversubscribe a mentor either.
"""

from contextlib import AbstractAsyncContextManager

from tandem_chassis.concurrency import Retry, keyed_lock, retry_on_conflict

from tandem_matching.domain.lifecycle import State
from tandem_matching.domain.mentorship import OPEN, TAKE_A_SEAT, MentorLoad, Seats
from tandem_matching.service_layer.unit_of_work import UnitOfWork

__all__ = ["change_seats", "mentor_lock", "reconcile_loads", "take_seat"]


def mentor_lock(mentor_id: str) -> AbstractAsyncContextManager[None]:
    """This process's writers to one mentor's seats and mentorships, one at a time."""
    return keyed_lock(f"mentor:{mentor_id}")


async def _store(uow: UnitOfWork, load: MentorLoad) -> Seats:
    if not await uow.loads.put(load):
        raise Retry
    uow.pool.note_load(load.mentor_id, load.seats)
    return load.seats


async def take_seat(uow: UnitOfWork, mentor_id: str, *, capacity: int) -> Seats | None:
    """One seat for a new proposal if fewer than `capacity` are taken; None when full."""

    async def attempt() -> Seats | None:
        load = await uow.loads.get(mentor_id) or MentorLoad(mentor_id)
        if not load.has_room(capacity):
            return None
        return await _store(uow, load.changed(load.seats.plus(TAKE_A_SEAT)))

    return await retry_on_conflict(attempt, what=f"the seats of mentor {mentor_id}")


async def change_seats(uow: UnitOfWork, mentor_id: str, change: Seats) -> Seats:
    """Apply a change of seats (a proposal accepted, declined, expired or ended)."""

    async def attempt() -> Seats:
        load = await uow.loads.get(mentor_id) or MentorLoad(mentor_id)
        return await _store(uow, load.changed(load.seats.plus(change)))

    return await retry_on_conflict(attempt, what=f"the seats of mentor {mentor_id}")


async def _set_seats(uow: UnitOfWork, mentor_id: str, seats: Seats) -> None:
    async def attempt() -> None:
        load = await uow.loads.get(mentor_id) or MentorLoad(mentor_id)
        if load.seats != seats or load.version == 0:
            await _store(uow, load.changed(seats))
        uow.pool.note_load(mentor_id, seats)

    await retry_on_conflict(attempt, what=f"the seats of mentor {mentor_id}")


async def reconcile_loads(uow: UnitOfWork) -> int:
    """Recount seats from the mentorships (heals a crash between a seat and its proposal);
    the number of mentors whose count was wrong."""
    counted = await uow.mentorships.open_counts()
    stored = await uow.loads.all()
    fixed = 0
    for mentor_id in set(counted) | set(stored):
        if counted.get(mentor_id, Seats()) == stored.get(mentor_id, Seats()):
            continue
        async with mentor_lock(mentor_id):
            found = await uow.mentorships.find(mentor_id=mentor_id, statuses=OPEN)
            pending = sum(1 for m in found if m.status is State.PROPOSED)
            await _set_seats(uow, mentor_id, Seats(len(found), pending))
            fixed += 1
    return fixed
