"""The relationships HTTP API (``/v1``): thin routes over the use cases."""

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from tandem_chassis import CurrentPrincipal, Principal, require_roles
from tandem_chassis.auth import current_principal
from tandem_contracts.relationships import Health

from tandem_relationships.domain.errors import DomainError
from tandem_relationships.domain.model import (
    AdminNote,
    Agreement,
    FeedbackAnswer,
    FeedbackRequest,
    Goal,
    Session,
)
from tandem_relationships.domain.program_report import PairSort, ProgramHealth, ProgramOutcomes
from tandem_relationships.domain.sessions import LogEntry, SessionPlan
from tandem_relationships.entrypoints.deps import Party, Uow, ViewerDep, require_self_or_admin
from tandem_relationships.entrypoints.schemas import (
    AdminNoteIn,
    AdminNotePage,
    AgreementIn,
    CalendarFeedView,
    FeedbackIn,
    FeedbackRequestPage,
    GoalPatch,
    LogIn,
    NudgeIn,
    NudgeView,
    OpenRequestView,
    PrivateNoteIn,
    RelationshipPage,
    RelationshipRow,
    RelationshipView,
    SessionIn,
    SessionPatch,
    SignIn,
)
from tandem_relationships.service_layer import actions, programs, queries

__all__ = ["install_error_handlers", "router"]

router = APIRouter(prefix="/v1", tags=["relationships"])
_optional_bearer = HTTPBearer(auto_error=False)
CALENDAR = "text/calendar; charset=utf-8"
CSV = "text/csv; charset=utf-8"
ADMIN = "program_admin"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def refused(request: Request, error: DomainError) -> JSONResponse:
        return JSONResponse({"detail": str(error), "reason": error.reason}, status_code=error.status_code)


def _log(body: LogIn | None) -> LogEntry | None:
    return LogEntry(happened=body.happened, minutes=body.minutes, notes=body.notes) if body else None


@router.put("/mentorships/{mentorship_id}/agreement", response_model=Agreement)
async def put_agreement(mentorship_id: str, body: AgreementIn, by: Party, uow: Uow) -> Agreement:
    """Draft the agreement (either party); a change after a signature is a new version."""
    fields = body.model_dump(exclude_none=True)
    return await actions.draft_agreement(uow, mentorship_id, by, fields)


@router.post("/mentorships/{mentorship_id}/agreement/sign", response_model=Agreement)
async def sign_agreement(mentorship_id: str, by: Party, uow: Uow, body: SignIn | None = None) -> Agreement:
    return await actions.sign_agreement(uow, mentorship_id, by, body.version if body else None)


@router.post(
    "/mentorships/{mentorship_id}/sessions", response_model=Session, status_code=status.HTTP_201_CREATED
)
async def create_session(mentorship_id: str, body: SessionIn, by: Party, uow: Uow) -> Session:
    """Schedule a session ahead, or log a past one at once (with ``log``)."""
    plan = SessionPlan(
        starts_at=body.starts_at, minutes=body.minutes, agenda=body.agenda, location=body.location
    )
    return _own_notes(await actions.schedule_session(uow, mentorship_id, by, plan, _log(body.log)), by)


@router.patch("/mentorships/{mentorship_id}/sessions/{session_id}", response_model=Session)
async def reschedule_session(
    mentorship_id: str, session_id: str, body: SessionPatch, by: Party, uow: Uow
) -> Session:
    changes = body.model_dump(exclude_unset=True)
    return _own_notes(await actions.reschedule_session(uow, mentorship_id, by, session_id, changes), by)


@router.post("/mentorships/{mentorship_id}/sessions/{session_id}/cancel", response_model=Session)
async def cancel_session(mentorship_id: str, session_id: str, by: Party, uow: Uow) -> Session:
    return _own_notes(await actions.cancel_session(uow, mentorship_id, by, session_id), by)


@router.post("/mentorships/{mentorship_id}/sessions/{session_id}/log", response_model=Session)
async def log_session(mentorship_id: str, session_id: str, body: LogIn, by: Party, uow: Uow) -> Session:
    entry = LogEntry(happened=body.happened, minutes=body.minutes, notes=body.notes)
    return _own_notes(await actions.log_session(uow, mentorship_id, by, session_id, entry), by)


@router.put("/mentorships/{mentorship_id}/sessions/{session_id}/private-notes", response_model=Session)
async def put_private_notes(
    mentorship_id: str, session_id: str, body: PrivateNoteIn, by: Party, uow: Uow
) -> Session:
    """Your own note on a session: nobody else reads it, not the other party, not an admin."""
    return _own_notes(await actions.write_private_note(uow, mentorship_id, by, session_id, body.text), by)


def _own_notes(session: Session, viewer: str) -> Session:
    own = session.private_notes.get(viewer)
    return session.model_copy(update={"private_notes": {viewer: own} if own else {}})


@router.patch("/mentorships/{mentorship_id}/goals/{goal_id}", response_model=Goal)
async def patch_goal(mentorship_id: str, goal_id: str, body: GoalPatch, by: Party, uow: Uow) -> Goal:
    return await actions.update_goal(uow, mentorship_id, by, goal_id, body.progress, body.note)


@router.post(
    "/mentorships/{mentorship_id}/feedback",
    response_model=FeedbackRequest,
    status_code=status.HTTP_201_CREATED,
)
async def post_feedback(mentorship_id: str, body: FeedbackIn, by: Party, uow: Uow) -> FeedbackRequest:
    """Answer an open request (``kind`` + answers); 409 for one nobody asked for or answered twice."""
    answer = FeedbackAnswer.model_validate(body.model_dump(exclude={"kind", "request_id"}))
    return await actions.give_feedback(uow, mentorship_id, by, body.kind, answer, body.request_id)


@router.get("/mentorships/{mentorship_id}/relationship", response_model=RelationshipView)
async def get_relationship(mentorship_id: str, viewer: ViewerDep, uow: Uow) -> RelationshipView:
    """Agreement, sessions (your own private notes only), goals, feedback, health."""
    shown = await queries.view_relationship(uow, mentorship_id, viewer)
    opened = shown.open_requests(None if viewer.is_admin else viewer.employee_id)
    return RelationshipView.model_validate(shown.model_dump() | {"open_feedback_requests": opened})


@router.get("/relationships", response_model=RelationshipPage)
async def list_relationships(
    admin: Annotated[Principal, require_roles(ADMIN)],
    uow: Uow,
    program_id: Annotated[str | None, Query(max_length=256)] = None,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    health: Annotated[Health | None, Query()] = None,
) -> RelationshipPage:
    """Program admins' table: health, agreement, sessions held, fit answers, mean session rating."""
    found = await queries.list_relationships(uow, program_id=program_id, status=status, health=health)
    return RelationshipPage(
        relationships=[
            RelationshipRow(
                mentorship_id=row.relationship.mentorship_id,
                mentor_id=row.relationship.mentor_id,
                mentee_id=row.relationship.mentee_id,
                program_id=row.relationship.program_id,
                status=row.relationship.status,
                health=row.relationship.health,
                health_reasons=row.relationship.health_reasons,
                agreement_signed=row.relationship.agreement_signed,
                sessions_held=row.sessions_held,
                last_session_at=row.last_session_at,
                open_requests=row.open_requests,
                fit=row.fit,
                mean_session_rating=row.mean_session_rating,
            )
            for row in found
        ]
    )


ProgramAdmin = Annotated[Principal, require_roles(ADMIN)]


@router.get("/programs/{program_id}/health", response_model=ProgramHealth)
async def get_program_health(
    program_id: str,
    _admin: ProgramAdmin,
    viewer: ViewerDep,
    uow: Uow,
    sort: Annotated[PairSort | None, Query()] = None,
) -> ProgramHealth:
    """The open pairs by health, agreements, sessions, fit and pulse (small groups withheld)."""
    return await programs.program_health(uow, program_id, viewer, sort=sort)


@router.get("/programs/{program_id}/outcomes", response_model=ProgramOutcomes)
async def get_program_outcomes(
    program_id: str, _admin: ProgramAdmin, viewer: ViewerDep, uow: Uow
) -> ProgramOutcomes:
    """How mentorships ended, goals achieved, level gains, satisfaction, would-recommend."""
    return await programs.program_outcomes(uow, program_id, viewer)


@router.get("/programs/{program_id}/pairs.csv", response_class=Response)
async def get_pairs_csv(program_id: str, _admin: ProgramAdmin, viewer: ViewerDep, uow: Uow) -> Response:
    """One line per pair of the program (open and ended), UTF-8 with a header row."""
    return _csv(await programs.pairs_csv(uow, program_id, viewer), f"{program_id}-pairs.csv")


@router.get("/programs/{program_id}/feedback.csv", response_class=Response)
async def get_feedback_csv(program_id: str, _admin: ProgramAdmin, viewer: ViewerDep, uow: Uow) -> Response:
    """One line per answered feedback request, with its ratings and comment."""
    return _csv(await programs.feedback_csv(uow, program_id, viewer), f"{program_id}-feedback.csv")


def _csv(text: str, filename: str) -> Response:
    disposition = f'attachment; filename="{re.sub(r"[^A-Za-z0-9._-]", "_", filename)}"'
    return Response(text.encode(), media_type=CSV, headers={"Content-Disposition": disposition})


@router.get("/mentorships/{mentorship_id}/admin-notes", response_model=AdminNotePage)
async def get_admin_notes(
    mentorship_id: str, _admin: ProgramAdmin, viewer: ViewerDep, uow: Uow
) -> AdminNotePage:
    """The program admins' notes on a pair: read by that program's admins only, never the pair."""
    return AdminNotePage(items=await programs.admin_notes(uow, mentorship_id, viewer))


@router.post(
    "/mentorships/{mentorship_id}/admin-notes",
    response_model=AdminNote,
    status_code=status.HTTP_201_CREATED,
)
async def post_admin_note(
    mentorship_id: str, body: AdminNoteIn, _admin: ProgramAdmin, viewer: ViewerDep, uow: Uow
) -> AdminNote:
    return await programs.add_admin_note(uow, mentorship_id, viewer, body.text)


@router.post(
    "/mentorships/{mentorship_id}/nudge", response_model=NudgeView, status_code=status.HTTP_202_ACCEPTED
)
async def nudge_pair(
    mentorship_id: str, _admin: ProgramAdmin, viewer: ViewerDep, uow: Uow, body: NudgeIn | None = None
) -> NudgeView:
    """Nudge both parties to meet (email and inbox, as their preferences allow)."""
    nudge_id = await programs.nudge_pair(uow, mentorship_id, viewer, body.message if body else None)
    return NudgeView(nudge_id=nudge_id, mentorship_id=mentorship_id)


@router.get("/employees/{employee_id}/feedback-requests", response_model=FeedbackRequestPage)
async def get_feedback_requests(
    employee_id: str, principal: CurrentPrincipal, uow: Uow
) -> FeedbackRequestPage:
    require_self_or_admin(principal, employee_id)
    found = await queries.open_requests_of(uow, employee_id)
    return FeedbackRequestPage(
        employee_id=employee_id,
        requests=[
            OpenRequestView(
                mentorship_id=item.mentorship_id,
                request_id=item.request.request_id,
                kind=item.request.kind,
                session_id=item.request.session_id,
                requested_at=item.request.requested_at,
            )
            for item in found
        ],
    )


@router.get("/employees/{employee_id}/calendar.ics", response_class=Response)
async def get_calendar(
    employee_id: str,
    request: Request,
    uow: Uow,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_optional_bearer)],
    secret: Annotated[str | None, Query(max_length=128, description="the feed secret")] = None,
) -> Response:
    """Your sessions as a calendar feed: with your bearer token, or with ``?secret=``."""
    if secret is not None:
        if not await queries.feed_secret_matches(uow, employee_id, secret):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or rotated feed secret")
    else:
        principal = current_principal(request, credentials)
        if principal.sub != employee_id or "employee" not in principal.roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "a calendar feed is read by its owner only")
    return Response(await queries.calendar_feed(uow, employee_id), media_type=CALENDAR)


def _feed_view(uow: Uow, employee_id: str, secret: str) -> CalendarFeedView:
    url = f"{uow.settings.public_url.rstrip('/')}/v1/employees/{employee_id}/calendar.ics?secret={secret}"
    return CalendarFeedView(employee_id=employee_id, secret=secret, url=url)


def _owner(principal: CurrentPrincipal, employee_id: str) -> None:
    if principal.sub != employee_id or "employee" not in principal.roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a feed secret is read by its owner only")


@router.get("/employees/{employee_id}/calendar-feed", response_model=CalendarFeedView)
async def get_calendar_feed(employee_id: str, principal: CurrentPrincipal, uow: Uow) -> CalendarFeedView:
    """The link a calendar client subscribes to (made on first use)."""
    _owner(principal, employee_id)
    return _feed_view(uow, employee_id, await queries.feed_secret(uow, employee_id))


@router.post("/employees/{employee_id}/calendar-feed/rotate", response_model=CalendarFeedView)
async def rotate_calendar_feed(employee_id: str, principal: CurrentPrincipal, uow: Uow) -> CalendarFeedView:
    """A new secret; the old link stops working at once."""
    _owner(principal, employee_id)
    return _feed_view(uow, employee_id, await queries.feed_secret(uow, employee_id, rotate=True))
