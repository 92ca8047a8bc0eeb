"""Use cases driven by ``tandem.profiles``: keep the projection, react to leavers."""

import contextlib

from tandem_chassis.concurrency import Retry, retry_on_conflict
from tandem_contracts import ProfileSnapshot

from tandem_matching.domain.lifecycle import Action, EndReason, IllegalTransition, State
from tandem_matching.domain.mentorship import OPEN
from tandem_matching.service_layer.mentorships import act_on_mentorship, repropose, terms_of
from tandem_matching.service_layer.unit_of_work import UnitOfWork

__all__ = ["forget_messages", "record_profile", "record_profiles", "release_leaver"]


async def record_profile(uow: UnitOfWork, snapshot: ProfileSnapshot) -> bool:
    """Keep the projection at the newest version (stale and repeated snapshots change
    nothing); when the stored profile is no longer active, release the leaver's mentorships.

    The release runs on every delivery, not only when the snapshot was new, so a redelivery
    after a crash finishes what the first delivery started.
    """
    stored = await uow.profiles.apply(snapshot)
    if stored:
        uow.pool.mark_dirty()
    current = await uow.profiles.get(snapshot.employee_id)
    if current is not None and current.status == "erased":
        await forget_messages(uow, snapshot.employee_id)
    if current is not None and current.status != "active":
        await uow.pool.refresh()
        await release_leaver(uow, snapshot.employee_id)
    return stored


async def record_profiles(uow: UnitOfWork, snapshots: list[ProfileSnapshot]) -> int:
    """:func:`record_profile` for a batch, with the same effects: the snapshots of employees
    who stay active in one bulk write; those of leavers (few) one by one, in order, so a leave
    followed by a re-hire in one batch still releases the mentorships of the leave."""
    leavers = {s.employee_id for s in snapshots if s.status != "active"}
    stored = await uow.profiles.apply_many([s for s in snapshots if s.employee_id not in leavers])
    if stored:
        uow.pool.mark_dirty()
    for snapshot in snapshots:
        if snapshot.employee_id in leavers:
            stored += await record_profile(uow, snapshot)
    return stored


async def forget_messages(uow: UnitOfWork, employee_id: str) -> None:
    """``profile.erased``: the mentee's own words in their requests are personal data."""
    for found in await uow.mentorships.find(mentee_id=employee_id):
        mentorship_id = found.mentorship_id

        async def attempt(mentorship_id: str = mentorship_id) -> None:
            current = await uow.mentorships.get(mentorship_id)
            if current is None or current.message is None:
                return
            if not await uow.mentorships.forget_message(current.without_message()):
                raise Retry

        await retry_on_conflict(attempt, what=f"mentorship {mentorship_id}")


async def _end(uow: UnitOfWork, mentorship_id: str, reason: EndReason) -> None:
    with contextlib.suppress(IllegalTransition):  # it ended meanwhile
        await act_on_mentorship(uow, mentorship_id, Action.END, actor_id=None, as_system=True, reason=reason)


async def release_leaver(uow: UnitOfWork, employee_id: str) -> None:
    """End the leaver's open mentorships (``mentor_left`` / ``mentee_left``), free the seats,
    and give each mentee of a leaving mentor a new proposal (once per ended mentorship)."""
    for mentorship in await uow.mentorships.find(mentor_id=employee_id, statuses=OPEN):
        await _end(uow, mentorship.mentorship_id, EndReason.MENTOR_LEFT)
    for mentorship in await uow.mentorships.find(mentee_id=employee_id, statuses=OPEN):
        await _end(uow, mentorship.mentorship_id, EndReason.MENTEE_LEFT)
    for ended in await uow.mentorships.find(mentor_id=employee_id, statuses=[State.ENDED]):
        if ended.reason is not EndReason.MENTOR_LEFT:
            continue
        await repropose(uow, ended, await terms_of(uow, ended))
