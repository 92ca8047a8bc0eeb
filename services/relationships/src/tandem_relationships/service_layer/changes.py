"""One way to change a relationship: lock, read, decide (pure), write state and events once."""

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from tandem_chassis.concurrency import Retry, keyed_lock, retry_on_conflict
from tandem_contracts import EventData

from tandem_relationships.domain.errors import NotFound
from tandem_relationships.domain.model import Relationship
from tandem_relationships.domain.steps import refresh_health
from tandem_relationships.service_layer.ports import UnitOfWork

__all__ = ["Decision", "change"]

T = TypeVar("T")
Decision = Callable[[Relationship, datetime], tuple[T, list[EventData]]]


async def change(
    uow: UnitOfWork,
    mentorship_id: str,
    decide: Decision[T],
    *,
    caused_by: str | None = None,
    missing_ok: bool = False,
) -> T | None:
    """Apply ``decide`` to the stored relationship and write the result with its events.

    ``decide`` mutates the copy it gets and returns (result, events); it runs again when a
    concurrent writer (another replica) won the race. It decides, and the health is refreshed
    in the same write, at the relationship's :meth:`~Relationship.moment` (never before the last
    write's). An event already applied (``caused_by``) changes nothing; a missing relationship is
    :class:`NotFound` unless ``missing_ok``.
    """
    async with keyed_lock(f"relationship:{mentorship_id}"):

        async def attempt() -> T | None:
            loaded = await uow.relationships.get(mentorship_id)
            if loaded is None:
                if missing_ok:
                    return None
                raise NotFound(f"no relationship for mentorship {mentorship_id}")
            if loaded.revision.has_seen(caused_by):
                return None
            relationship = loaded.relationship.model_copy(deep=True)
            now = relationship.moment(uow.clock.now())
            result, events = decide(relationship, now)
            if events or relationship != loaded.relationship or caused_by:
                program = await uow.programs.get(relationship.program_id) if relationship.program_id else None
                events = [*events, *refresh_health(relationship, program, now)]
                relationship.decided_at = now
                if not await uow.relationships.save(
                    loaded.revision, relationship, events, caused_by=caused_by
                ):
                    raise Retry
            return result

        return await retry_on_conflict(attempt, what=f"relationship {mentorship_id}")
