"""The periodic job: take every time-driven step that is due, each exactly once."""

from datetime import datetime

from tandem_chassis.concurrency import ConflictError
from tandem_chassis.logging import get_logger
from tandem_contracts import EventData

from tandem_relationships.domain.model import ProgramSettings, Relationship
from tandem_relationships.domain.steps import apply_steps, due_steps
from tandem_relationships.service_layer.changes import change
from tandem_relationships.service_layer.ports import UnitOfWork

__all__ = ["take_due_steps"]

log = get_logger(__name__)


async def take_due_steps(uow: UnitOfWork) -> int:
    """Plan every open relationship at the clock's now; write those with due steps.

    Returns how many relationships took a step. Planning is repeated on the stored state inside
    the write, so a step another replica took meanwhile is not taken again.
    """
    programs = await uow.programs.all()
    now = uow.clock.now()
    taken = 0
    for loaded in await uow.relationships.open_ones():
        relationship = loaded.relationship
        program = programs.get(relationship.program_id) if relationship.program_id else None
        if not due_steps(relationship, program, now) or not await uow.claims.claim(
            relationship.mentorship_id
        ):
            continue  # nothing due, or another replica takes this relationship's steps now

        def take(
            stored: Relationship, at: datetime, program: ProgramSettings | None = program
        ) -> tuple[int, list[EventData]]:
            steps = due_steps(stored, program, at)
            return len(steps), apply_steps(stored, steps, program, at)

        try:
            if await change(uow, relationship.mentorship_id, take, missing_ok=True):
                taken += 1
        except ConflictError:
            log.warning("steps lost every race; next pass", mentorship_id=relationship.mentorship_id)
        except Exception:  # one broken relationship must not hold back the others' steps
            log.exception("time-driven steps failed", mentorship_id=relationship.mentorship_id)
    await uow.claims.forget_old()
    if taken:
        log.info("time-driven steps taken", relationships=taken)
    return taken
