"""What a program's admins read and do about its pairs: health, outcomes, exports, admin notes
and nudges. Only the admins of the relationship's program (``admin_ids`` of its
``program.created``) pass; everyone else is refused.

The program's relationships are read with a ``program_id`` filter: on FerretDB 1.x that scans
the collection (only ``_id`` lookups use an index), acceptable for these occasional admin reads.
"""

from datetime import datetime

from tandem_contracts import EventData

from tandem_relationships.domain import admin, exports, program_report
from tandem_relationships.domain.errors import Forbidden, NotFound
from tandem_relationships.domain.model import AdminNote, ProgramSettings, Relationship
from tandem_relationships.service_layer.changes import change
from tandem_relationships.service_layer.ports import UnitOfWork
from tandem_relationships.service_layer.queries import Viewer

__all__ = [
    "add_admin_note",
    "admin_notes",
    "feedback_csv",
    "nudge_pair",
    "pairs_csv",
    "program_health",
    "program_outcomes",
    "require_program_admin",
]


async def require_program_admin(uow: UnitOfWork, program_id: str | None, viewer: Viewer) -> ProgramSettings:
    """The program, if ``viewer`` is one of its admins; :class:`Forbidden` otherwise."""
    if not viewer.is_admin:
        raise Forbidden("only the program's admins", reason="not_program_admin")
    if program_id is None:
        raise Forbidden("this mentorship belongs to no program: it has no admins", reason="not_program_admin")
    program = await uow.programs.get(program_id)
    if program is None:
        raise NotFound(f"no program {program_id}", reason="unknown_program")
    if viewer.employee_id not in program.admin_ids:
        raise Forbidden(f"you are not an admin of program {program_id}", reason="not_program_admin")
    return program


async def _pairs(uow: UnitOfWork, program_id: str) -> list[Relationship]:
    return await uow.relationships.find(program_id=program_id)


async def _names(uow: UnitOfWork, relationships: list[Relationship]) -> dict[str, str | None]:
    ids = sorted({person for r in relationships for person in r.parties})
    people = await uow.people.many(ids) if ids else {}
    return {employee_id: person.display_name for employee_id, person in people.items()}


async def program_health(
    uow: UnitOfWork, program_id: str, viewer: Viewer, *, sort: program_report.PairSort | None = None
) -> program_report.ProgramHealth:
    await require_program_admin(uow, program_id, viewer)
    pairs = await _pairs(uow, program_id)
    names = await _names(uow, [r for r in pairs if r.status == "open"])
    return program_report.program_health(program_id, pairs, names, uow.clock.now(), sort=sort)


async def program_outcomes(
    uow: UnitOfWork, program_id: str, viewer: Viewer
) -> program_report.ProgramOutcomes:
    await require_program_admin(uow, program_id, viewer)
    return program_report.program_outcomes(program_id, await _pairs(uow, program_id), uow.clock.now())


async def pairs_csv(uow: UnitOfWork, program_id: str, viewer: Viewer) -> str:
    await require_program_admin(uow, program_id, viewer)
    pairs = await _pairs(uow, program_id)
    return exports.pairs_csv(pairs, await _names(uow, pairs))


async def feedback_csv(uow: UnitOfWork, program_id: str, viewer: Viewer) -> str:
    await require_program_admin(uow, program_id, viewer)
    return exports.feedback_csv(await _pairs(uow, program_id))


async def _admin_of_pair(uow: UnitOfWork, mentorship_id: str, viewer: Viewer) -> Relationship:
    if not viewer.is_admin:
        raise Forbidden("only the program's admins", reason="not_program_admin")
    loaded = await uow.relationships.get(mentorship_id)
    if loaded is None:
        raise NotFound(f"no relationship for mentorship {mentorship_id}")
    await require_program_admin(uow, loaded.relationship.program_id, viewer)
    return loaded.relationship


async def admin_notes(uow: UnitOfWork, mentorship_id: str, viewer: Viewer) -> list[AdminNote]:
    return (await _admin_of_pair(uow, mentorship_id, viewer)).admin_notes


async def add_admin_note(uow: UnitOfWork, mentorship_id: str, viewer: Viewer, text: str) -> AdminNote:
    await _admin_of_pair(uow, mentorship_id, viewer)
    note_id = uow.new_id()

    def decide(relationship: Relationship, now: datetime) -> tuple[AdminNote, list[EventData]]:
        return admin.add_admin_note(relationship, note_id, viewer.employee_id, text, now), []

    note = await change(uow, mentorship_id, decide)
    if note is None:
        raise NotFound(f"no relationship for mentorship {mentorship_id}")
    return note


async def nudge_pair(uow: UnitOfWork, mentorship_id: str, viewer: Viewer, message: str | None) -> str:
    """Publish ``relationship.nudged`` for both parties; the nudge's id."""
    await _admin_of_pair(uow, mentorship_id, viewer)
    nudge_id = uow.new_id()

    def decide(relationship: Relationship, now: datetime) -> tuple[str, list[EventData]]:
        return nudge_id, admin.nudge(relationship, nudge_id, viewer.employee_id, message, now)

    await change(uow, mentorship_id, decide)
    return nudge_id
