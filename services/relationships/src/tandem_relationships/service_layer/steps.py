"""The periodic job: take every time-driven step that is due, each exactly once."""

from tandem_chassis.concurrency import keyed_lock
from tandem_chassis.logging import get_logger

from tandem_relationships.domain.model import ProgramSettings
from tandem_relationships.domain.steps import apply_steps, due_steps
from tandem_relationships.service_layer.ports import UnitOfWork

__all__ = ["take_due_steps"]

log = get_logger(__name__)


async def take_due_steps(uow: UnitOfWork) -> int:
    """Plan every open relationship at the clock's now; write those with due steps.

    Returns how many relationships took steps. Each write starts from a stored version that
    this replica claimed (no other replica writes steps from it) and records the steps as done,
    so a step is taken once; a write that lost to another writer is planned again next pass.
    Plans are made at each relationship's :meth:`~Relationship.moment`: a replica whose clock is
    behind the last write's does not take back what was decided later.
    """
    programs = await uow.programs.all()
    taken = 0
    for candidate in await uow.relationships.open_ones():
        program_id = candidate.relationship.program_id
        program = programs.get(program_id) if program_id else None
        if not due_steps(candidate.relationship, program, candidate.relationship.moment(uow.clock.now())):
            continue
        try:
            taken += await _take(uow, candidate.relationship.mentorship_id, program)
        except Exception:  # one broken relationship must not hold back the others' steps
            log.exception("time-driven steps failed", mentorship_id=candidate.relationship.mentorship_id)
    await uow.claims.forget_old()
    if taken:
        log.info("time-driven steps taken", relationships=taken)
    return taken


async def _take(uow: UnitOfWork, mentorship_id: str, program: ProgramSettings | None) -> int:
    async with keyed_lock(f"relationship:{mentorship_id}"):
        loaded = await uow.relationships.get(mentorship_id)
        if loaded is None:
            return 0
        now = loaded.relationship.moment(uow.clock.now())
        steps = due_steps(loaded.relationship, program, now)
        if not steps or not await uow.claims.claim(mentorship_id, loaded.revision.version):
            return 0  # done meanwhile, or another replica writes this version's steps
        relationship = loaded.relationship.model_copy(deep=True)
        events = apply_steps(relationship, steps, program, now)
        relationship.decided_at = now
        return int(await uow.relationships.save(loaded.revision, relationship, events))
