"""``tandem.programs`` (key: ``program_id``)."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from tandem_contracts.base import EventData

__all__ = ["ProgramCreated", "RoundCompleted"]


class ProgramCreated(EventData):
    """``program.created``."""

    program_id: str
    name: str
    objective: Literal["score", "participation"] = "score"
    admin_ids: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    mentorship_length_days: Annotated[int, Field(ge=1, le=3650)] | None = Field(
        default=None, description="how long a mentorship of this program runs (agreement end date)"
    )
    auto_close_inactive_days: Annotated[int, Field(ge=1, le=3650)] | None = Field(
        default=None, description="days without a session after which a mentorship ends (reason inactive)"
    )


class RoundCompleted(EventData):
    """``program.round_completed``: the round's report."""

    program_id: str
    round_id: str
    program_name: str | None = None
    admin_ids: list[str] = Field(default_factory=list)
    matched: int
    unmatched: int
    unmatched_reasons: dict[str, int] = Field(default_factory=dict)
    total_score: float
    mean_score: float | None = None
    min_score: float | None = None
    mentor_load: dict[str, int] = Field(
        default_factory=dict, description="number of mentors (value) per new-mentee count (key)"
    )
    completed_at: datetime | None = None
