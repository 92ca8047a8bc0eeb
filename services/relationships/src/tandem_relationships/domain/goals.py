"""Goal progress: 0-100 with a history of who moved it, when, and why."""

from datetime import datetime

from tandem_relationships.domain.agreement import ensure_open
from tandem_relationships.domain.model import Goal, ProgressUpdate, Relationship

__all__ = ["update_progress"]


def update_progress(
    relationship: Relationship, by: str, goal_id: str, progress: int, note: str | None, now: datetime
) -> Goal:
    relationship.role_of(by)
    ensure_open(relationship)
    goal = relationship.goal(goal_id)
    goal.progress = progress
    goal.history.append(ProgressUpdate(at=now, by=by, progress=progress, note=note))
    return goal
