"""Use cases driven by ``tandem.relationships``: a poor fit or a long silence ends a mentorship.

Both are idempotent: a redelivered event finds the mentorship ended and its re-proposal (a
fixed id) made, and changes nothing; it only finishes what a crashed first delivery began.
"""

import contextlib

from tandem_chassis.consumer import PermanentError
from tandem_chassis.logging import get_logger
from tandem_contracts import RelationshipAutoClosed, RelationshipEvent, RelationshipFitDeclined

from tandem_matching.domain.lifecycle import Action, EndReason, IllegalTransition, State
from tandem_matching.domain.mentorship import Mentorship
from tandem_matching.service_layer.mentorships import act_on_mentorship, repropose, terms_of
from tandem_matching.service_layer.unit_of_work import UnitOfWork

__all__ = ["close_inactive", "decline_fit"]

log = get_logger(__name__)


async def _end_for(uow: UnitOfWork, event: RelationshipEvent, reason: EndReason) -> Mentorship | None:
    """End the event's accepted mentorship with `reason` (freeing the seat); the mentorship as
    it is now, or ``None`` when matching does not know it."""
    found = await uow.mentorships.get(event.mentorship_id)
    if found is None:
        log.warning("relationship event for an unknown mentorship", mentorship_id=event.mentorship_id)
        return None
    if (found.mentor_id, found.mentee_id) != (event.mentor_id, event.mentee_id):
        raise PermanentError(f"the event's pair is not that of mentorship {event.mentorship_id}")
    if found.status is State.ACCEPTED:
        with contextlib.suppress(IllegalTransition):  # it ended meanwhile
            await act_on_mentorship(
                uow, event.mentorship_id, Action.END, actor_id=None, as_system=True, reason=reason
            )
    return await uow.mentorships.get(event.mentorship_id)


async def decline_fit(uow: UnitOfWork, declined: RelationshipFitDeclined) -> Mentorship | None:
    """The mentee said the fit is poor: end the mentorship (``not_a_fit``) and propose the next
    best mentor under the same program's terms (the ended pair is excluded). The re-proposal,
    if any mentor fits."""
    if declined.declined_by != declined.mentee_id:
        raise PermanentError("only the mentee's poor fit ends a mentorship")
    ended = await _end_for(uow, declined, EndReason.NOT_A_FIT)
    if ended is None or ended.reason is not EndReason.NOT_A_FIT:
        return None  # unknown, still open (never accepted), or ended otherwise first
    await uow.pool.refresh()
    return await repropose(uow, ended, await terms_of(uow, ended))


async def close_inactive(uow: UnitOfWork, closed: RelationshipAutoClosed) -> Mentorship | None:
    """The program's auto-close: the mentorship ends ``inactive``; nobody is re-proposed."""
    return await _end_for(uow, closed, EndReason.INACTIVE)
