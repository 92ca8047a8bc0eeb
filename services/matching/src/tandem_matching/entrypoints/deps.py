"""What the entrypoints get from the composition root, as ``Annotated`` dependencies."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from tandem_matching.adapters.mentor_load import MentorLoadRepository
from tandem_matching.adapters.mentorships import MentorshipRepository
from tandem_matching.adapters.profiles_projection import ProfileProjection
from tandem_matching.adapters.programs import ProgramRepository, RoundRepository
from tandem_matching.service_layer.pool import MentorPool

__all__ = ["Adapters", "Deps"]


@dataclass(frozen=True)
class Adapters:
    projection: ProfileProjection
    pool: MentorPool
    mentorships: MentorshipRepository
    loads: MentorLoadRepository
    programs: ProgramRepository
    rounds: RoundRepository
    default_expiry: timedelta
    max_suggestions: int


def _adapters(request: Request) -> Adapters:
    adapters: Adapters = request.app.state.matching
    return adapters


Deps = Annotated[Adapters, Depends(_adapters)]
