"""Helpers shared by the modules that turn changes into contract events."""

import re
from typing import Any

from tandem_relationships.domain.model import Relationship

__all__ = ["about", "slug"]


def about(relationship: Relationship) -> dict[str, Any]:
    """The fields every relationship event starts with."""
    return {
        "mentorship_id": relationship.mentorship_id,
        "mentor_id": relationship.mentor_id,
        "mentee_id": relationship.mentee_id,
        "program_id": relationship.program_id,
    }


def slug(name: str) -> str:
    """A stable id for a goal name ("Public speaking " and "public-speaking" are one goal)."""
    return re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-") or "goal"
