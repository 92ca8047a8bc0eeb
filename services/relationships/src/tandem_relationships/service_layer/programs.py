"""What a program's admins read and do about its pairs: health, outcomes, exports, admin notes
and nudges. Only the admins of the relationship's program (``admin_ids`` of its
``program.created``) pass; everyone else is refused.

The program's relationships are read with a ``program_id`` filter: on FerretDB 1.x that scans
the collection (only ``_id`` lookups use an index), acceptable for these occasional admin reads.
"""

from tandem_relationships.domain import program_report
from tandem_relationships.domain.errors import Forbidden, NotFound
from tandem_relationships.domain.model import ProgramSettings, Relationship
from tandem_relationships.service_layer.ports import UnitOfWork
from tandem_relationships.service_layer.queries import Viewer

__all__ = ["program_health", "program_outcomes", "require_program_admin"]


async def require_program_admin(uow: UnitOfWork, program_id: str | None, viewer: Viewer) -> ProgramSettings:
    """The program, if ``viewer`` is one of its admins; :class:`Forbidden` otherwise."""
    if not viewer.is_admin:
        raise Forbidden("only the program's admins", reason="not_program_admin")
    program = await uow.programs.get(program_id) if program_id else None
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
