"""Use cases of the profiles service: one async function per command or event."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tandem_chassis.concurrency import Retry, keyed_lock, retry_on_conflict
from tandem_contracts import EmployeeJoined, EmployeeLeft, EmployeeUpdated

from tandem_profiles.domain.profile import (
    Profile,
    ProfileChange,
    apply_hr_event,
    edit_mentoring,
    erase,
    set_groups,
)
from tandem_profiles.service_layer.unit_of_work import LoadedProfile, ProfileWrite, UnitOfWork

__all__ = [
    "HrChange",
    "HrEvent",
    "ProfileNotFoundError",
    "apply_hr_batch",
    "apply_hr_change",
    "erase_due_profiles",
    "erase_profile",
    "mutate_profile",
    "sync_groups",
    "update_mentoring_profile",
]

HrEvent = EmployeeJoined | EmployeeUpdated | EmployeeLeft
Decision = Callable[[Profile | None], ProfileChange | None]


class ProfileNotFoundError(LookupError):
    pass


def profile_lock(employee_id: str) -> AbstractAsyncContextManager[None]:
    return keyed_lock(f"profile:{employee_id}")


async def mutate_profile(
    uow: UnitOfWork, employee_id: str, decide: Decision, *, caused_by: str | None
) -> Profile | None:
    """Read, decide, write with a version check; retried on conflicts (then ``ConflictError``).

    The in-process lock keeps this replica's writers to one profile in line (FerretDB's
    conditional updates are not atomic under concurrent writers); the version check covers
    the rest.
    """

    async def attempt() -> Profile | None:
        loaded = await uow.profiles.load(employee_id)
        if loaded is not None and loaded.has_seen(caused_by):
            return loaded.profile
        profile = loaded.profile if loaded else None
        change = decide(profile)
        if change is None or change.profile == profile:
            return profile
        if not await uow.profiles.save(loaded, change, caused_by=caused_by):
            raise Retry
        return change.profile

    async with profile_lock(employee_id):
        return await retry_on_conflict(attempt, what=f"profile {employee_id}")


@dataclass(frozen=True, slots=True)
class HrChange:
    event: HrEvent
    event_id: str
    time: datetime | None


def _fold(loaded: LoadedProfile | None, pending: list[HrChange], uow: UnitOfWork) -> ProfileWrite | None:
    """One profile's events folded in order; None when nothing changes."""
    before = loaded.profile if loaded else None
    profile, write = before, ProfileWrite(loaded, Profile(employee_id=""), [], [])
    for change in pending:
        if (loaded is not None and loaded.has_seen(change.event_id)) or change.event_id in write.caused_by:
            continue
        step = apply_hr_event(
            profile, change.event, time=change.time or uow.clock(), event_id=change.event_id
        )
        profile = step.profile
        write.caused_by.append(change.event_id)
        if (event := uow.profiles.event_of(step)) is not None:
            write.events.append(event)
    if profile is None or profile == before:
        return None
    return ProfileWrite(loaded, profile, write.events, write.caused_by)


async def apply_hr_batch(changes: list[HrChange], *, uow: UnitOfWork) -> None:
    """Many ``hr.employees`` events at once: one read and two bulk writes for the whole batch.

    Same effect as :func:`apply_hr_change` for each event in order; profiles whose write lost a
    race are redone one event at a time.
    """
    by_employee: dict[str, list[HrChange]] = {}
    for change in changes:
        by_employee.setdefault(change.event.employee_id, []).append(change)
    async with AsyncExitStack() as locks:
        for employee_id in sorted(by_employee):
            await locks.enter_async_context(profile_lock(employee_id))
        loaded = await uow.profiles.load_many(list(by_employee))
        writes, redo = [], []
        for employee_id, pending in by_employee.items():
            write = _fold(loaded.get(employee_id), pending, uow)
            if write is not None:
                writes.append(write)
                redo.append(pending)
        landed = await uow.profiles.save_many(writes) if writes else []
    for ok, pending in zip(landed, redo, strict=True):
        if not ok:
            for change in pending:
                await apply_hr_change(change.event, event_id=change.event_id, time=change.time, uow=uow)


async def apply_hr_change(
    event: HrEvent,
    *,
    event_id: str,
    time: datetime | None,
    uow: UnitOfWork,
    then: Callable[[Profile], Profile] | None = None,
) -> Profile | None:
    """An ``hr.employees`` event (or the SCIM call that means the same).

    ``then``: SCIM's own bookkeeping on the same write (its login name); it publishes nothing.
    """
    at = time or uow.clock()

    def decide(profile: Profile | None) -> ProfileChange:
        change = apply_hr_event(profile, event, time=at, event_id=event_id)
        return ProfileChange(then(change.profile), change.event) if then else change

    return await mutate_profile(uow, event.employee_id, decide, caused_by=event_id)


async def update_mentoring_profile(employee_id: str, changes: dict[str, Any], *, uow: UnitOfWork) -> Profile:
    """A self-service edit; raises ``ProfileNotFoundError`` or ``InactiveProfileError``."""

    def decide(profile: Profile | None) -> ProfileChange:
        if profile is None or not profile.known:
            raise ProfileNotFoundError(employee_id)
        return edit_mentoring(profile, changes)

    updated = await mutate_profile(uow, employee_id, decide, caused_by=None)
    assert updated is not None
    return updated


async def erase_profile(
    employee_id: str, *, uow: UnitOfWork, reason_id: str, now: datetime | None = None
) -> Profile:
    def decide(profile: Profile | None) -> ProfileChange:
        if profile is None or not profile.known:
            raise ProfileNotFoundError(employee_id)
        return erase(profile, time=now or uow.clock(), event_id=reason_id)

    erased = await mutate_profile(uow, employee_id, decide, caused_by=None)
    assert erased is not None
    return erased


async def erase_due_profiles(*, uow: UnitOfWork, now: datetime | None = None) -> int:
    """The retention job: erase every leaver whose retention period is over."""
    moment = now or uow.clock()
    erased = 0
    for employee_id in await uow.profiles.due_for_erasure(moment):
        await erase_profile(employee_id, uow=uow, reason_id="retention", now=moment)
        erased += 1
    return erased


async def sync_groups(employee_id: str, *, uow: UnitOfWork) -> None:
    """Set the profile's group ids from the groups that list the employee now.

    Read under the profile's lock, so the last sync of a member sees the latest groups.
    """

    async with keyed_lock(f"profile-groups:{employee_id}"):
        groups = tuple(await uow.groups.ids_with_member(employee_id))

        def decide(profile: Profile | None) -> ProfileChange | None:
            return None if profile is None else set_groups(profile, groups)

        await mutate_profile(uow, employee_id, decide, caused_by=None)
