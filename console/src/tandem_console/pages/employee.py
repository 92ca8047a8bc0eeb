"""An employee's own pages: profile, suggestions, mentorships, inbox."""

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from tandem_console.api import ApiError
from tandem_console.forms import FormError, format_levelled, parse_levelled, parse_tags
from tandem_console.names import names_of
from tandem_console.session import redirect
from tandem_console.web import Employee, ServicesDep, render

__all__ = ["links", "router"]

router = APIRouter(prefix="/me")
links = APIRouter()  # the paths the notification emails link to (notifications' TANDEM_APP_URL)
PREFERENCES = ("any", "same", "other")
CHANNELS = {"email": "Email", "inapp": "In-app inbox"}
# The notification kinds an employee may mute (notifications' KINDS), in the order they happen.
KINDS = {
    "welcome": "Welcome",
    "complete_profile": "Reminder to complete my profile",
    "mentorship_requested": "Someone asks me to mentor them",
    "mentorship_proposed": "A mentorship is proposed to me",
    "mentorship_accepted": "A mentorship is accepted",
    "mentorship_declined": "A mentorship is declined",
    "mentorship_expired": "A proposal expires",
    "mentorship_ended": "A mentorship ends",
    "round_completed": "A program round completes",
    "checkin_reminder": "Check-in reminders",
    "agreement_unsigned": "Reminder to sign our mentoring agreement",
    "agreement_signed": "Our mentoring agreement is signed",
    "session_scheduled": "A session is scheduled (with a calendar invitation)",
    "session_rescheduled": "A session is moved",
    "session_cancelled": "A session is cancelled",
    "session_upcoming": "Reminder the day before a session",
    "feedback_requested": "Feedback is asked of me",
    "fit_declined": "A mentorship I said is not a fit",
    "relationship_nudge": "A nudge when a mentorship stalls",
    "relationship_alert": "Alerts about stalled mentorships (program admins)",
    "relationship_auto_closed": "A mentorship is closed for inactivity",
    "outcome_recorded": "A mentorship's outcome is recorded",
}
# What the profiles API answers for fields never set; a tolerant reader fills them in.
PROFILE_DEFAULTS: dict[str, Any] = {
    "roles": [],
    "skills": [],
    "goals": [],
    "interests": [],
    "languages": [],
    "bio": None,
    "mentor_capacity": 0,
    "availability_hours_per_month": None,
    "preferences": {},
}


@router.get("/profile")
async def profile_page(request: Request, user: Employee, services: ServicesDep) -> Response:
    profile = PROFILE_DEFAULTS | await services.get("profiles", f"/v1/profiles/{user.id}", token=user.token)
    return render(
        request,
        "profile.html",
        user=user,
        profile=profile,
        skills_text=format_levelled(profile.get("skills", [])),
        goals_text=format_levelled(profile.get("goals", [])),
        preferences=PREFERENCES,
    )


@router.post("/profile")
async def save_profile(
    user: Employee,
    services: ServicesDep,
    skills: Annotated[str, Form(max_length=10_000)] = "",
    goals: Annotated[str, Form(max_length=10_000)] = "",
    interests: Annotated[str, Form(max_length=4_000)] = "",
    bio: Annotated[str, Form(max_length=2_000)] = "",
    mentor_capacity: Annotated[int, Form(ge=0, le=10)] = 0,
    availability_hours_per_month: Annotated[str, Form(max_length=4)] = "",
    department_preference: Annotated[str, Form(pattern="^(any|same|other)$")] = "any",
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    try:
        patch: dict[str, Any] = {
            "roles": [role for role in ("mentor", "mentee") if role in (roles or [])],
            "skills": parse_levelled(skills, what="Skills"),
            "goals": parse_levelled(goals, what="Goals"),
            "interests": parse_tags(interests),
            "bio": bio,
            "mentor_capacity": mentor_capacity,
            "preferences": {"department": department_preference},
        }
        hours = availability_hours_per_month.strip()
        if hours and not hours.isdigit():
            raise FormError("Availability must be a whole number of hours")
        if hours:
            patch["availability_hours_per_month"] = int(hours)
    except FormError as error:
        return redirect("/me/profile", error=str(error))
    try:
        await services.patch("profiles", f"/v1/profiles/{user.id}", token=user.token, json=patch)
    except ApiError as error:
        return redirect("/me/profile", error=f"Your profile was not saved: {error.message}")
    return redirect("/me/profile", ok="Your profile is saved.")


@router.get("/suggestions")
async def suggestions_page(request: Request, user: Employee, services: ServicesDep) -> Response:
    page = await services.get("matching", f"/v1/mentees/{user.id}/suggestions", token=user.token, limit=5)
    names = await names_of(services, user.token, [s["mentor_id"] for s in page["suggestions"]])
    return render(request, "suggestions.html", user=user, suggestions=page["suggestions"], names=names)


@router.post("/mentorships")
async def request_mentor(
    user: Employee,
    services: ServicesDep,
    mentor_id: Annotated[str, Form(min_length=1, max_length=128)],
    message: Annotated[str, Form(max_length=2_000)] = "",
) -> Response:
    body = {"mentee_id": user.id, "mentor_id": mentor_id, "message": message.strip() or None}
    try:
        await services.post("matching", "/v1/mentorships", token=user.token, json=body)
    except ApiError as error:
        return redirect("/me/suggestions", error=f"The request was not sent: {error.message}")
    names = await names_of(services, user.token, [mentor_id])
    return redirect("/me/mentorships", ok=f"You asked {names(mentor_id)} to mentor you.")


def _responder(mentorship: dict[str, Any]) -> str:
    """Who answers a proposal: the mentor for a mentee's request, else the mentee."""
    role = "mentor_id" if mentorship.get("origin", "request") == "request" else "mentee_id"
    return str(mentorship[role])


@router.get("/mentorships")
async def mentorships_page(request: Request, user: Employee, services: ServicesDep) -> Response:
    page = await services.get("matching", "/v1/mentorships", token=user.token, employee_id=user.id)
    rows = []
    for m in page["items"]:
        mine_to_answer = m["status"] == "proposed" and _responder(m) == user.id
        rows.append(
            m
            | {
                "my_role": "mentor" if m["mentor_id"] == user.id else "mentee",
                "counterpart": m["mentee_id"] if m["mentor_id"] == user.id else m["mentor_id"],
                "can_answer": mine_to_answer,
                "can_withdraw": m["status"] == "proposed" and not mine_to_answer,
                "can_end": m["status"] == "accepted",
            }
        )
    order = {"proposed": 0, "accepted": 1}
    rows.sort(key=lambda m: (order.get(m["status"], 2), str(m.get("proposed_at") or "")))
    names = await names_of(services, user.token, [m["counterpart"] for m in rows])
    return render(request, "mentorships.html", user=user, mentorships=rows, names=names)


async def _act(user: Any, services: Any, mentorship_id: str, action: str, body: Any, done: str) -> Response:
    try:
        await services.post(
            "matching", f"/v1/mentorships/{mentorship_id}/{action}", token=user.token, json=body
        )
    except ApiError as error:
        return redirect("/me/mentorships", error=f"That did not work: {error.message}")
    return redirect("/me/mentorships", ok=done)


@router.post("/mentorships/{mentorship_id}/accept")
async def accept(mentorship_id: str, user: Employee, services: ServicesDep) -> Response:
    return await _act(user, services, mentorship_id, "accept", None, "You accepted the mentorship.")


@router.post("/mentorships/{mentorship_id}/decline")
async def decline(mentorship_id: str, user: Employee, services: ServicesDep) -> Response:
    return await _act(user, services, mentorship_id, "decline", None, "You declined the proposal.")


@router.post("/mentorships/{mentorship_id}/end")
async def end(
    mentorship_id: str,
    user: Employee,
    services: ServicesDep,
    reason: Annotated[str, Form(pattern="^(completed|cancelled)$")] = "completed",
) -> Response:
    return await _act(
        user, services, mentorship_id, "end", {"reason": reason}, f"The mentorship ended ({reason})."
    )


@router.get("/inbox")
async def inbox_page(
    request: Request, user: Employee, services: ServicesDep, cursor: str | None = None
) -> Response:
    page = await services.get(
        "notifications", f"/v1/employees/{user.id}/notifications", token=user.token, limit=20, cursor=cursor
    )
    return render(request, "inbox.html", user=user, page=page)


@router.post("/inbox/{notification_id}/read")
async def mark_read(notification_id: str, user: Employee, services: ServicesDep) -> Response:
    try:
        await services.post("notifications", f"/v1/notifications/{notification_id}/read", token=user.token)
    except ApiError as error:
        return redirect("/me/inbox", error=f"Not marked as read: {error.message}")
    return redirect("/me/inbox", ok="Marked as read.")


@links.get("/profile")
async def profile_link() -> Response:
    return RedirectResponse("/me/profile", status_code=303)


@links.get("/suggestions")
async def suggestions_link() -> Response:
    return RedirectResponse("/me/suggestions", status_code=303)


@links.get("/mentorships/{mentorship_id}")
async def mentorship_link(mentorship_id: str) -> Response:
    return RedirectResponse(f"/me/mentorships/{quote(mentorship_id, safe='')}", status_code=303)


@router.get("/settings")
async def settings_page(request: Request, user: Employee, services: ServicesDep) -> Response:
    current = await services.get("notifications", f"/v1/employees/{user.id}/preferences", token=user.token)
    return render(
        request,
        "settings.html",
        user=user,
        channels=CHANNELS,
        kinds=KINDS,
        enabled={channel for channel in CHANNELS if current.get("channels", {}).get(channel, True)},
        muted=set(current.get("muted_types", [])),
    )


@router.post("/settings")
async def save_settings(
    user: Employee,
    services: ServicesDep,
    channels: Annotated[list[str] | None, Form()] = None,
    muted: Annotated[list[str] | None, Form()] = None,
) -> Response:
    body = {
        "channels": {channel: channel in (channels or []) for channel in CHANNELS},
        "muted_types": sorted(kind for kind in (muted or []) if kind in KINDS),
    }
    try:
        await services.put(
            "notifications", f"/v1/employees/{user.id}/preferences", token=user.token, json=body
        )
    except ApiError as error:
        return redirect("/me/settings", error=f"Your settings were not saved: {error.message}")
    return redirect("/me/settings", ok="Notification settings saved.")


@links.get("/settings/notifications")
async def settings_link() -> Response:
    return RedirectResponse("/me/settings", status_code=303)
