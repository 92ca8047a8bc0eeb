"""Use cases driven by ``tandem.profiles``: keep the projection, react to leavers."""

import contextlib
from datetime import timedelta
from typing import Any

from tandem_contracts import ProfileSnapshot

from tandem_matching.adapters.mentor_load import MentorLoadRepository
from tandem_matching.adapters.mentorships import OPEN, MentorshipRepository, snapshot_of
from tandem_matching.adapters.profiles_projection import ProfileProjection
from tandem_matching.adapters.programs import ProgramRepository
from tandem_matching.domain.lifecycle import Action, EndReason, IllegalTransition
from tandem_matching.service_layer.errors import ConcurrentUpdateError
from tandem_matching.service_layer.mentorships import act_on_mentorship, repropose
from tandem_matching.service_layer.pool import MentorPool
from tandem_matching.service_layer.programs import terms_of

__all__ = ["forget_messages", "record_profile", "record_profiles", "release_leaver"]

_ATTEMPTS = 20


async def record_profile(
    snapshot: ProfileSnapshot,
    *,
    default_expiry: timedelta,
    projection: ProfileProjection,
    pool: MentorPool,
    mentorships: MentorshipRepository,
    loads: MentorLoadRepository,
    programs: ProgramRepository,
) -> bool:
    """Keep the projection at the newest version (stale and repeated snapshots change
    nothing); when the stored profile is no longer active, release the leaver's mentorships.

    The release runs on every delivery, not only when the snapshot was new, so a redelivery
    after a crash finishes what the first delivery started.
    """
    stored = await projection.apply(snapshot)
    if stored:
        pool.mark_dirty()
    current = await projection.get(snapshot.employee_id)
    if current is not None and current.get("status") == "erased":
        await forget_messages(snapshot.employee_id, mentorships=mentorships)
    if current is not None and current.get("status") != "active":
        await pool.refresh()
        await release_leaver(
            snapshot.employee_id,
            default_expiry=default_expiry,
            pool=pool,
            mentorships=mentorships,
            loads=loads,
            projection=projection,
            programs=programs,
        )
    return stored


async def record_profiles(
    snapshots: list[ProfileSnapshot],
    *,
    default_expiry: timedelta,
    projection: ProfileProjection,
    pool: MentorPool,
    mentorships: MentorshipRepository,
    loads: MentorLoadRepository,
    programs: ProgramRepository,
) -> int:
    """:func:`record_profile` for a batch, with the same effects: the snapshots of employees
    who stay active in one bulk write; those of leavers (few) one by one, in order, so a leave
    followed by a re-hire in one batch still releases the mentorships of the leave."""
    leavers = {s.employee_id for s in snapshots if s.status != "active"}
    stored = await projection.apply_many([s for s in snapshots if s.employee_id not in leavers])
    if stored:
        pool.mark_dirty()
    for snapshot in snapshots:
        if snapshot.employee_id in leavers:
            stored += await record_profile(
                snapshot,
                default_expiry=default_expiry,
                projection=projection,
                pool=pool,
                mentorships=mentorships,
                loads=loads,
                programs=programs,
            )
    return stored


async def forget_messages(employee_id: str, *, mentorships: MentorshipRepository) -> None:
    """``profile.erased``: the mentee's own words in their requests are personal data."""
    for found in await mentorships.find(mentee_id=employee_id):
        document: dict[str, Any] | None = found
        for _ in range(_ATTEMPTS):
            if document is None or document.get("message") is None:
                break
            if await mentorships.forget_message(document):
                break
            document = await mentorships.get(found["_id"])
        else:
            raise ConcurrentUpdateError(f"mentorship {found['_id']} kept changing under us")


async def _end(
    mentorship_id: str,
    reason: EndReason,
    *,
    mentorships: MentorshipRepository,
    loads: MentorLoadRepository,
    pool: MentorPool,
) -> None:
    with contextlib.suppress(IllegalTransition):  # it ended meanwhile
        await act_on_mentorship(
            mentorship_id,
            Action.END,
            actor_id=None,
            as_system=True,
            reason=reason,
            mentorships=mentorships,
            loads=loads,
            pool=pool,
        )


async def release_leaver(
    employee_id: str,
    *,
    default_expiry: timedelta,
    pool: MentorPool,
    mentorships: MentorshipRepository,
    loads: MentorLoadRepository,
    projection: ProfileProjection,
    programs: ProgramRepository,
) -> None:
    """End the leaver's open mentorships (``mentor_left`` / ``mentee_left``), free the seats,
    and give each mentee of a leaving mentor a new proposal (once per ended mentorship)."""
    for document in await mentorships.find(mentor_id=employee_id, statuses=OPEN):
        await _end(document["_id"], EndReason.MENTOR_LEFT, mentorships=mentorships, loads=loads, pool=pool)
    for document in await mentorships.find(mentee_id=employee_id, statuses=OPEN):
        await _end(document["_id"], EndReason.MENTEE_LEFT, mentorships=mentorships, loads=loads, pool=pool)
    for document in await mentorships.find(mentor_id=employee_id, statuses=["ended"]):
        if document.get("reason") != EndReason.MENTOR_LEFT:
            continue
        ended = snapshot_of(document)
        program = await programs.get(ended.program_id) if ended.program_id else None
        await repropose(
            ended,
            terms=terms_of(program, default_expiry=default_expiry),
            pool=pool,
            mentorships=mentorships,
            loads=loads,
            projection=projection,
        )
