"""``tandem.mentorships`` (key: ``mentorship_id``)."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from tandem_contracts.base import EmployeeId, EventData, json_int

__all__ = [
    "EndReason",
    "MentorshipAccepted",
    "MentorshipDeclined",
    "MentorshipEnded",
    "MentorshipExpired",
    "MentorshipOrigin",
    "MentorshipProposed",
    "MentorshipSnapshot",
    "MentorshipStatus",
]

MentorshipStatus = Literal["proposed", "accepted", "declined", "expired", "ended"]
EndReason = Literal["completed", "cancelled", "mentor_left", "mentee_left", "not_a_fit", "inactive"]
MentorshipOrigin = Literal["request", "round", "reproposal"]


class MentorshipSnapshot(EventData):
    mentorship_id: Annotated[str, Field(min_length=1, max_length=256)]
    version: Annotated[int, Field(ge=1, le=2**62), BeforeValidator(json_int)] = 1
    mentor_id: EmployeeId
    mentee_id: EmployeeId
    program_id: str | None = None
    round_id: str | None = None
    status: MentorshipStatus
    origin: MentorshipOrigin = "request"
    score: float | None = None
    breakdown: dict[str, float] = Field(default_factory=dict)
    reasons: list[str] = Field(default_factory=list)
    message: Annotated[str, Field(max_length=2000)] | None = None
    reason: EndReason | None = None
    proposed_at: datetime | None = None
    expires_at: datetime | None = None
    accepted_at: datetime | None = None
    ended_at: datetime | None = None
    replaces_mentorship_id: str | None = None


class MentorshipProposed(MentorshipSnapshot):
    """``mentorship.proposed``."""


class MentorshipAccepted(MentorshipSnapshot):
    """``mentorship.accepted``: the mentorship is active."""


class MentorshipDeclined(MentorshipSnapshot):
    """``mentorship.declined``."""


class MentorshipExpired(MentorshipSnapshot):
    """``mentorship.expired``: nobody answered the proposal in time."""


class MentorshipEnded(MentorshipSnapshot):
    """``mentorship.ended``, with ``reason``."""
