"""Use cases of the profiles service: one async function per command or event."""

import asyncio
import contextlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tandem_chassis import AggregateStore
from tandem_contracts import EmployeeJoined, EmployeeLeft, EmployeeUpdated

from tandem_profiles.adapters.repository import ProfileRepository
from tandem_profiles.domain.profile import Profile, ProfileChange, apply_hr_event, edit_mentoring, erase

__all__ = [
    "ConcurrentUpdateError",
    "HrChange",
    "ProfileNotFoundError",
    "apply_hr_batch",
    "apply_hr_change",
    "erase_due_profiles",
    "erase_profile",
    "update_mentoring_profile",
]

Decision = Callable[[Profile | None], ProfileChange | None]
_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


class ProfileNotFoundError(LookupError):
    pass


class ConcurrentUpdateError(RuntimeError):
    """Too many concurrent writers to one profile (retried by the caller)."""


def _lock(employee_id: str) -> asyncio.Lock:
    lock = _locks.get(employee_id)
    if lock is None:
        lock = _locks[employee_id] = asyncio.Lock()
    return lock


async def _mutate(
    repository: ProfileRepository, employee_id: str, decide: Decision, *, caused_by: str | None
) -> Profile | None:
    """Read, decide, write with a version check; retried on conflicts.

    The in-process lock keeps this replica's writers to one profile in line (FerretDB's
    conditional updates are not atomic under concurrent writers); the version check covers
    the rest.
    """
    async with _lock(employee_id):
        for _ in range(20):
            profile, document = await repository.load(employee_id)
            if AggregateStore.has_seen(document, caused_by):
                return profile
            change = decide(profile)
            if change is None or change.profile == profile:
                return profile
            if await repository.save(document, change, caused_by=caused_by):
                return change.profile
    raise ConcurrentUpdateError(f"profile {employee_id} kept changing under us")


HrEvent = EmployeeJoined | EmployeeUpdated | EmployeeLeft


@dataclass(frozen=True, slots=True)
class HrChange:
    event: HrEvent
    event_id: str
    time: datetime | None


async def apply_hr_batch(changes: list[HrChange], *, repository: ProfileRepository) -> None:
    """Many ``hr.employees`` events at once: one read and two bulk writes for the whole batch.

    Same effect as :func:`apply_hr_change` for each event in order; profiles whose write lost a
    race are redone one event at a time.
    """
    by_employee: dict[str, list[HrChange]] = {}
    for change in changes:
        by_employee.setdefault(change.event.employee_id, []).append(change)
    async with contextlib.AsyncExitStack() as locks:
        for employee_id in sorted(by_employee):
            await locks.enter_async_context(_lock(employee_id))
        loaded = await repository.load_many(list(by_employee))
        writes, redo = [], []
        for employee_id, pending in by_employee.items():
            before, document = loaded.get(employee_id, (None, None))
            profile, events, seen = before, [], []
            for change in pending:
                if AggregateStore.has_seen(document, change.event_id) or change.event_id in seen:
                    continue
                step = apply_hr_event(
                    profile, change.event, time=change.time or datetime.now(UTC), event_id=change.event_id
                )
                profile, seen = step.profile, [*seen, change.event_id]
                if (event := repository.event_of(step)) is not None:
                    events.append(event)
            if profile is not None and profile != before:
                writes.append((document, profile, events, seen))
                redo.append(pending)
        landed = await repository.save_many(writes) if writes else []
    for ok, pending in zip(landed, redo, strict=True):
        if not ok:
            for change in pending:
                await apply_hr_change(
                    change.event, event_id=change.event_id, time=change.time, repository=repository
                )


async def apply_hr_change(
    event: EmployeeJoined | EmployeeUpdated | EmployeeLeft,
    *,
    event_id: str,
    time: datetime | None,
    repository: ProfileRepository,
) -> Profile | None:
    """An ``hr.employees`` event (or the SCIM call that means the same)."""
    at = time or datetime.now(UTC)
    return await _mutate(
        repository,
        event.employee_id,
        lambda profile: apply_hr_event(profile, event, time=at, event_id=event_id),
        caused_by=event_id,
    )


async def update_mentoring_profile(
    employee_id: str, changes: dict[str, Any], *, repository: ProfileRepository
) -> Profile:
    """A self-service edit; raises ``ProfileNotFoundError`` or ``InactiveProfileError``."""

    def decide(profile: Profile | None) -> ProfileChange:
        if profile is None or not profile.known:
            raise ProfileNotFoundError(employee_id)
        return edit_mentoring(profile, changes)

    updated = await _mutate(repository, employee_id, decide, caused_by=None)
    assert updated is not None
    return updated


async def erase_profile(
    employee_id: str, *, repository: ProfileRepository, reason_id: str, now: datetime | None = None
) -> Profile:
    def decide(profile: Profile | None) -> ProfileChange:
        if profile is None or not profile.known:
            raise ProfileNotFoundError(employee_id)
        return erase(profile, time=now or datetime.now(UTC), event_id=reason_id)

    erased = await _mutate(repository, employee_id, decide, caused_by=None)
    assert erased is not None
    return erased


async def erase_due_profiles(*, repository: ProfileRepository, now: datetime | None = None) -> int:
    """The retention job: erase every leaver whose retention period is over."""
    moment = now or datetime.now(UTC)
    erased = 0
    for employee_id in await repository.due_for_erasure(moment):
        await erase_profile(employee_id, repository=repository, reason_id="retention", now=moment)
        erased += 1
    return erased
