"""The matching HTTP API (``/v1``): thin routes over the use cases."""

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from tandem_chassis import CurrentPrincipal, Principal, require_self_or_roles
from tandem_contracts import MentorshipSnapshot

from tandem_matching.adapters.contract import snapshot_of
from tandem_matching.domain.lifecycle import Action, IllegalTransition, NotPermitted, State
from tandem_matching.domain.model import Weights
from tandem_matching.entrypoints.deps import ADMIN, Admin, Uow
from tandem_matching.entrypoints.schemas import (
    EndRequest,
    EnrollmentIn,
    InsufficientOutcomesView,
    LearnedWeightsView,
    MentorshipPage,
    MentorshipRequest,
    ProgramIn,
    ProgramPage,
    ProgramView,
    RoundView,
    SuggestionPage,
    WeightsIn,
    learned_weights_view,
    program_view,
    round_view,
    suggestion_view,
)
from tandem_matching.service_layer import learning as learning_use
from tandem_matching.service_layer import mentorships as use
from tandem_matching.service_layer import programs as program_use
from tandem_matching.service_layer.errors import NotFoundError, RequestRefusedError

__all__ = ["install_error_handlers", "router"]

router = APIRouter(prefix="/v1", tags=["matching"])
READERS = (ADMIN, "hr_integration")
STATUS_PATTERN = "^(proposed|accepted|declined|expired|ended)$"
# Routes whose bodies may exceed the edge's default limit (TANDEM_HTTP_MAX_BODY_BYTES, 1 MiB):
# an enrollment of 10,000 mentees and 10,000 mentors with 128-character ids is about 2.6 MB.
LARGER_BODIES = {("POST", "/v1/programs/{program_id}/enrollments"): 4 * 1024 * 1024}


def _refused(reason: str, message: str, code: int, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": {"reason": reason, "message": message, **extra}}, status_code=code)


def install_error_handlers(app: FastAPI) -> None:
    """Use-case errors as HTTP answers: 404, 403 (wrong party), 409 (with reason / state)."""

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, error: NotFoundError) -> JSONResponse:
        return _refused("not_found", str(error), status.HTTP_404_NOT_FOUND)

    @app.exception_handler(RequestRefusedError)
    async def refused(request: Request, error: RequestRefusedError) -> JSONResponse:
        return _refused(error.reason, str(error), status.HTTP_409_CONFLICT)

    @app.exception_handler(NotPermitted)
    async def not_permitted(request: Request, error: NotPermitted) -> JSONResponse:
        return _refused("not_permitted", str(error), status.HTTP_403_FORBIDDEN)

    @app.exception_handler(IllegalTransition)
    async def illegal(request: Request, error: IllegalTransition) -> JSONResponse:
        return _refused(
            "illegal_transition",
            str(error),
            status.HTTP_409_CONFLICT,
            current_state=error.current_state.value,
        )


@router.get("/mentees/{employee_id}/suggestions", response_model=SuggestionPage)
async def get_suggestions(
    employee_id: str,
    principal: CurrentPrincipal,
    uow: Uow,
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
    program_id: Annotated[
        str | None, Query(min_length=1, max_length=128, description="a program's weights and eligibility")
    ] = None,
) -> SuggestionPage:
    """Ranked mentors for a mentee; mentors with many pending proposals rank lower."""
    require_self_or_roles(principal, employee_id, ADMIN)
    found = await use.suggest_mentors(uow, employee_id, limit=limit, program_id=program_id)
    return SuggestionPage(mentee_id=employee_id, suggestions=[suggestion_view(s) for s in found])


@router.post("/mentorships", response_model=MentorshipSnapshot, status_code=status.HTTP_201_CREATED)
async def request_mentorship(
    body: MentorshipRequest, principal: CurrentPrincipal, uow: Uow
) -> MentorshipSnapshot:
    """A mentee asks a mentor: the mentorship is ``proposed`` until the mentor answers."""
    require_self_or_roles(principal, body.mentee_id)
    proposal = await use.request_mentorship(uow, body.mentee_id, body.mentor_id, message=body.message)
    return snapshot_of(proposal)


async def _act(
    uow: Uow, mentorship_id: str, action: Action, principal: Principal, reason: str | None = None
) -> MentorshipSnapshot:
    changed = await use.act_on_mentorship(
        uow,
        mentorship_id,
        action,
        actor_id=principal.sub if "employee" in principal.roles else None,
        as_system=action is Action.END and principal.has_any(ADMIN),
        reason=reason,
    )
    return snapshot_of(changed)


@router.post("/mentorships/{mentorship_id}/accept", response_model=MentorshipSnapshot)
async def accept(mentorship_id: str, principal: CurrentPrincipal, uow: Uow) -> MentorshipSnapshot:
    return await _act(uow, mentorship_id, Action.ACCEPT, principal)


@router.post("/mentorships/{mentorship_id}/decline", response_model=MentorshipSnapshot)
async def decline(mentorship_id: str, principal: CurrentPrincipal, uow: Uow) -> MentorshipSnapshot:
    return await _act(uow, mentorship_id, Action.DECLINE, principal)


@router.post("/mentorships/{mentorship_id}/end", response_model=MentorshipSnapshot)
async def end(
    mentorship_id: str, body: EndRequest, principal: CurrentPrincipal, uow: Uow
) -> MentorshipSnapshot:
    return await _act(uow, mentorship_id, Action.END, principal, reason=body.reason)


@router.get("/mentorships/{mentorship_id}", response_model=MentorshipSnapshot)
async def get_mentorship(mentorship_id: str, principal: CurrentPrincipal, uow: Uow) -> MentorshipSnapshot:
    mentorship = await use.get_mentorship(uow, mentorship_id)
    parties = (mentorship.mentor_id, mentorship.mentee_id)
    if not principal.has_any(*READERS) and principal.sub not in parties:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "you may only read your own mentorships")
    return snapshot_of(mentorship)


@router.get("/mentorships", response_model=MentorshipPage)
async def list_mentorships(
    principal: CurrentPrincipal,
    uow: Uow,
    employee_id: Annotated[str | None, Query(max_length=128)] = None,
    mentorship_status: Annotated[str | None, Query(alias="status", pattern=STATUS_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> MentorshipPage:
    """Mentorships where ``employee_id`` is mentor or mentee; employees see only their own."""
    if employee_id is None and not principal.has_any(*READERS):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "employees must name themselves as employee_id")
    if employee_id is not None:
        require_self_or_roles(principal, employee_id, *READERS)
    items = await use.list_mentorships(
        uow,
        employee_id=employee_id,
        status=State(mentorship_status) if mentorship_status else None,
        limit=limit,
    )
    return MentorshipPage(items=[snapshot_of(m) for m in items])


@router.post("/programs", response_model=ProgramView, status_code=status.HTTP_201_CREATED)
async def create_program(body: ProgramIn, uow: Uow, principal: Admin) -> ProgramView:
    return program_view(await program_use.create_program(uow, body.command(), admin_id=principal.sub))


@router.get("/programs", response_model=ProgramPage)
async def list_programs(
    uow: Uow, _admin: Admin, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> ProgramPage:
    programs = await program_use.list_programs(uow, limit=limit)
    return ProgramPage(items=[program_view(p) for p in programs])


@router.get("/programs/{program_id}", response_model=ProgramView)
async def get_program(program_id: str, uow: Uow, _admin: Admin) -> ProgramView:
    return program_view(await program_use.get_program(uow, program_id))


@router.post(
    "/programs/{program_id}/enrollments",
    response_model=ProgramView,
)
async def enroll(program_id: str, body: EnrollmentIn, uow: Uow, _admin: Admin) -> ProgramView:
    program = await program_use.enroll(
        uow, program_id, mentee_ids=body.mentee_ids, mentor_ids=body.mentor_ids
    )
    return program_view(program)


@router.post(
    "/programs/{program_id}/rounds",
    response_model=RoundView,
    status_code=status.HTTP_201_CREATED,
)
async def run_round(program_id: str, uow: Uow, _admin: Admin) -> RoundView:
    """Match all enrolled, unmatched mentees at once; returns the round's report."""
    return round_view(await program_use.run_round(uow, program_id))


@router.get(
    "/programs/{program_id}/rounds/{round_id}",
    response_model=RoundView,
)
async def get_round(program_id: str, round_id: str, uow: Uow, _admin: Admin) -> RoundView:
    return round_view(await program_use.get_round(uow, program_id, round_id))


@router.put("/programs/{program_id}/weights", response_model=ProgramView)
async def put_weights(program_id: str, body: WeightsIn, uow: Uow, _admin: Admin) -> ProgramView:
    """Replace the program's component weights (how a learned proposal is applied)."""
    weights = Weights(**body.model_dump())
    return program_view(await program_use.set_weights(uow, program_id, weights))


@router.get(
    "/programs/{program_id}/weights/learned",
    response_model=LearnedWeightsView | InsufficientOutcomesView,
)
async def get_learned_weights(
    program_id: str, uow: Uow, _admin: Admin
) -> LearnedWeightsView | InsufficientOutcomesView:
    """Weights learned from recorded outcomes, with the evidence; nothing is applied (an admin
    applies a proposal with the program's weights update)."""
    return learned_weights_view(program_id, await learning_use.learned_weights(uow, program_id))
