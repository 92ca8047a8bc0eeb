"""The pair's mentorship page: agreement, sessions, goals, feedback and health.

Everything shown and done here is the relationships service's API, called with the signed-in
user's token: it decides who may read or write what (private notes come back for their author
only). A refused form is shown again with what was typed and the service's reason.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from tandem_console.api import ApiError, Services
from tandem_console.forms import (
    FormError,
    format_goal_targets,
    goals_from_profile,
    local_datetime,
    parse_goal_targets,
    zone,
)
from tandem_console.names import names_of
from tandem_console.session import User, redirect, requires
from tandem_console.web import Employee, ServicesDep, render

__all__ = ["router"]

router = APIRouter(prefix="/me/mentorships/{mentorship_id}")
Reader = Annotated[User, requires("employee", "program_admin")]
CADENCES = {"weekly": "every week", "biweekly": "every two weeks", "monthly": "every month"}
# A form's fields and the person's time zone -> the API body; FormError when they do not read.
Builder = Callable[[dict[str, str], str], Any]
KIND_TITLES = {
    "session": "How was the session?",
    "fit": "Is this mentorship a good fit?",
    "pulse": "How is the mentorship going?",
    "final": "The mentorship has ended: how did it go?",
}


class Refusal(Exception):  # noqa: N818  (a form answer, not a fault)
    def __init__(self, message: str, status: int) -> None:
        self.message, self.status = message, status
        super().__init__(message)


async def _optional(services: Services, service: str, path: str, token: str) -> Any:
    """The answer, or ``None`` when there is none yet (404)."""
    try:
        return await services.get(service, path, token=token)
    except ApiError as error:
        if error.status == 404:
            return None
        raise


def _when(value: str | None, tz: Any) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(tz).strftime("%a %d %b %Y, %H:%M")


def _local_input(value: str | None, tz: Any) -> str:
    if not value:
        return ""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def _people(mentorship: dict[str, Any], relationship: dict[str, Any] | None) -> set[str]:
    ids = {mentorship["mentor_id"], mentorship["mentee_id"]}
    for version in (relationship or {}).get("agreement", {}).get("versions", []):
        ids |= {version["drafted_by"], *version.get("signatures", {})}
    for session in (relationship or {}).get("sessions", []):
        ids |= {session["created_by"], (session.get("log") or {}).get("logged_by", "")}
    for goal in (relationship or {}).get("goals", []):
        ids |= {update["by"] for update in goal.get("history", [])}
    return ids


async def show(
    request: Request,
    user: User,
    services: Services,
    mentorship_id: str,
    *,
    error: str | None = None,
    kept: dict[str, dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    mentorship = await services.get("matching", f"/v1/mentorships/{mentorship_id}", token=user.token)
    relationship = await _optional(
        services, "relationships", f"/v1/mentorships/{mentorship_id}/relationship", user.token
    )
    me = (
        await _optional(services, "profiles", f"/v1/profiles/{user.id}", user.token)
        if user.has("employee")
        else None
    )
    tz = zone((me or {}).get("timezone"))
    is_party = user.has("employee") and user.id in (mentorship["mentor_id"], mentorship["mentee_id"])
    agreement = (relationship or {}).get("agreement", {})
    current = agreement["versions"][-1] if agreement.get("versions") else None
    if current is not None:
        goals_text = format_goal_targets(current["terms"]["goals"])
    elif me and user.id == mentorship["mentee_id"]:
        goals_text = goals_from_profile(me.get("goals", []))  # the mentee's own profile goals
    else:
        goals_text = ""
    signed_by = set(current["signatures"]) if current else set()
    return render(
        request,
        "mentorship.html",
        user=user,
        status_code=status_code,
        m=mentorship,
        r=relationship,
        current=current,
        signed=current is not None and {mentorship["mentor_id"], mentorship["mentee_id"]} <= signed_by,
        i_signed=user.id in signed_by,
        waiting_for=[
            who for who in (mentorship["mentor_id"], mentorship["mentee_id"]) if who not in signed_by
        ],
        is_party=is_party,
        my_role="mentor" if user.id == mentorship["mentor_id"] else "mentee",
        counterpart=mentorship["mentee_id"]
        if user.id == mentorship["mentor_id"]
        else mentorship["mentor_id"],
        names=await names_of(services, user.token, _people(mentorship, relationship)),
        goals_text=goals_text,
        cadences=CADENCES,
        kind_titles=KIND_TITLES,
        tz_name=str(tz),
        when=lambda value: _when(value, tz),
        local_input=lambda value: _local_input(value, tz),
        error=error,
        kept=kept or {},
    )


def _fields(form: FormData) -> dict[str, str]:
    return {key: str(value) for key, value in form.items()}


async def _act(
    request: Request,
    user: User,
    services: Services,
    mentorship_id: str,
    form_id: str,
    build: Builder,
    method: str,
    path: str,
    done: str,
) -> Response:
    """Read the form with ``build``, make the call; on a refusal, the page again with the input."""
    fields = _fields(await request.form())
    timezone = await _timezone(services, user)
    try:
        try:
            body = build(fields, timezone)
        except FormError as error:
            raise Refusal(str(error), 422) from error
        try:
            await services.call(
                "relationships", method, f"/v1/mentorships/{mentorship_id}{path}", token=user.token, json=body
            )
        except ApiError as error:
            if error.status == 401 or error.status >= 500:
                raise
            raise Refusal(error.message, error.status) from error
    except Refusal as refusal:
        return await show(
            request,
            user,
            services,
            mentorship_id,
            error=f"Not saved: {refusal.message}",
            kept={form_id: fields},
            status_code=refusal.status,
        )
    return redirect(f"/me/mentorships/{mentorship_id}#{form_id.split(':')[0]}", ok=done)


async def _timezone(services: Services, user: User) -> str:
    me = await _optional(services, "profiles", f"/v1/profiles/{user.id}", user.token)
    return str((me or {}).get("timezone") or "UTC")


def _int(fields: dict[str, str], name: str, what: str) -> int | None:
    text = fields.get(name, "").strip()
    if not text:
        return None
    if not text.lstrip("-").isdigit():
        raise FormError(f"{what} must be a whole number")
    return int(text)


def _text(fields: dict[str, str], name: str) -> str | None:
    return fields.get(name, "").strip() or None


@router.get("")
async def mentorship_page(
    mentorship_id: str, request: Request, user: Reader, services: ServicesDep
) -> Response:
    return await show(request, user, services, mentorship_id)


def _agreement(fields: dict[str, str], _tz: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "goals": parse_goal_targets(fields.get("goals", "")),
        "expectations": _text(fields, "expectations"),
        "cadence": fields.get("cadence", "biweekly"),
        "session_minutes": _int(fields, "session_minutes", "Session length") or 60,
        "confidential": fields.get("confidential") == "on",
    }
    if _text(fields, "end_date"):
        body["end_date"] = fields["end_date"].strip()
    return body


@router.post("/agreement")
async def draft_agreement(
    mentorship_id: str, request: Request, user: Employee, services: ServicesDep
) -> Response:
    return await _act(
        request,
        user,
        services,
        mentorship_id,
        "agreement",
        _agreement,
        "PUT",
        "/agreement",
        "The agreement draft is saved; both of you sign it next.",
    )


@router.post("/agreement/sign")
async def sign_agreement(
    mentorship_id: str, request: Request, user: Employee, services: ServicesDep
) -> Response:
    def body(fields: dict[str, str], _tz: str) -> dict[str, Any]:
        return {"version": _int(fields, "version", "Version")}

    return await _act(
        request,
        user,
        services,
        mentorship_id,
        "sign",
        body,
        "POST",
        "/agreement/sign",
        "You signed the agreement.",
    )


def _session(fields: dict[str, str], tz: str) -> dict[str, Any]:
    if not _text(fields, "starts_at"):
        raise FormError("When: give a date and time")
    body: dict[str, Any] = {
        "starts_at": local_datetime(fields["starts_at"], tz, what="When"),
        "minutes": _int(fields, "minutes", "Length") or 60,
        "agenda": _text(fields, "agenda"),
        "location": _text(fields, "location"),
    }
    if fields.get("already_happened") == "on":
        body["log"] = {"happened": True, "notes": _text(fields, "notes")}
    return body


@router.post("/sessions")
async def schedule_session(
    mentorship_id: str, request: Request, user: Employee, services: ServicesDep
) -> Response:
    return await _act(
        request,
        user,
        services,
        mentorship_id,
        "sessions",
        _session,
        "POST",
        "/sessions",
        "The session is saved.",
    )


@router.post("/sessions/{session_id}/reschedule")
async def reschedule_session(
    mentorship_id: str, session_id: str, request: Request, user: Employee, services: ServicesDep
) -> Response:
    def body(fields: dict[str, str], tz: str) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if _text(fields, "starts_at"):
            changes["starts_at"] = local_datetime(fields["starts_at"], tz, what="New time")
        if (minutes := _int(fields, "minutes", "Length")) is not None:
            changes["minutes"] = minutes
        return changes

    return await _act(
        request,
        user,
        services,
        mentorship_id,
        f"session-{session_id}:move",
        body,
        "PATCH",
        f"/sessions/{session_id}",
        "The session is moved; both of you get the new invitation.",
    )


@router.post("/sessions/{session_id}/cancel")
async def cancel_session(
    mentorship_id: str, session_id: str, request: Request, user: Employee, services: ServicesDep
) -> Response:
    return await _act(
        request,
        user,
        services,
        mentorship_id,
        f"session-{session_id}:cancel",
        lambda f, tz: None,
        "POST",
        f"/sessions/{session_id}/cancel",
        "The session is cancelled.",
    )


@router.post("/sessions/{session_id}/log")
async def log_session(
    mentorship_id: str, session_id: str, request: Request, user: Employee, services: ServicesDep
) -> Response:
    def body(fields: dict[str, str], _tz: str) -> dict[str, Any]:
        return {
            "happened": fields.get("happened", "yes") == "yes",
            "minutes": _int(fields, "minutes", "Minutes"),
            "notes": _text(fields, "notes"),
        }

    return await _act(
        request,
        user,
        services,
        mentorship_id,
        f"session-{session_id}:log",
        body,
        "POST",
        f"/sessions/{session_id}/log",
        "The session is logged.",
    )


@router.post("/sessions/{session_id}/private-notes")
async def private_notes(
    mentorship_id: str, session_id: str, request: Request, user: Employee, services: ServicesDep
) -> Response:
    return await _act(
        request,
        user,
        services,
        mentorship_id,
        f"session-{session_id}:note",
        lambda fields, tz: {"text": _text(fields, "text")},
        "PUT",
        f"/sessions/{session_id}/private-notes",
        "Your private note is saved (only you can read it).",
    )


@router.post("/goals/{goal_id}")
async def update_goal(
    mentorship_id: str, goal_id: str, request: Request, user: Employee, services: ServicesDep
) -> Response:
    def body(fields: dict[str, str], _tz: str) -> dict[str, Any]:
        progress = _int(fields, "progress", "Progress")
        if progress is None:
            raise FormError("Progress: give a number from 0 to 100")
        return {"progress": progress, "note": _text(fields, "note")}

    return await _act(
        request,
        user,
        services,
        mentorship_id,
        f"goal-{goal_id}",
        body,
        "PATCH",
        f"/goals/{goal_id}",
        "The goal's progress is saved.",
    )


def _feedback(fields: dict[str, str], _tz: str) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": fields.get("kind", ""), "request_id": _text(fields, "request_id")}
    for name, what in (
        ("session_rating", "Rating"),
        ("satisfaction", "Satisfaction"),
        ("would_recommend", "Would recommend"),
    ):
        if (value := _int(fields, name, what)) is not None:
            body[name] = value
    for name in ("fit", "goals_achieved", "comment"):
        if text := _text(fields, name):
            body[name] = text
    levels = {key.removeprefix("goal:"): value for key, value in fields.items() if key.startswith("goal:")}
    body["goal_levels"] = {goal: int(level) for goal, level in levels.items() if level.isdigit()}
    return body


@router.post("/feedback")
async def give_feedback(
    mentorship_id: str, request: Request, user: Employee, services: ServicesDep
) -> Response:
    form = await request.form()
    form_id = f"feedback-{form.get('request_id', '')}"
    return await _act(
        request,
        user,
        services,
        mentorship_id,
        form_id,
        _feedback,
        "POST",
        "/feedback",
        "Thank you: your feedback is recorded.",
    )
