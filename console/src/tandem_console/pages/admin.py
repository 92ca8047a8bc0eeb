"""Program admins: programs, enrolment, rounds and their report, mentorships to watch."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from tandem_console.api import ApiError
from tandem_console.charts import Bar, bar_chart, histogram
from tandem_console.forms import parse_ids, parse_tags
from tandem_console.names import names_of
from tandem_console.session import redirect
from tandem_console.web import Admin, ServicesDep, render

__all__ = ["round_charts", "router"]

router = APIRouter(prefix="/admin")
WEIGHTS = ("goal_fit", "seniority", "timezone", "department", "interests")


@router.get("/programs")
async def programs_page(request: Request, user: Admin, services: ServicesDep) -> Response:
    page = await services.get("matching", "/v1/programs", token=user.token)
    return render(request, "programs.html", user=user, programs=page["items"], weights=WEIGHTS)


def _optional_int(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


@router.post("/programs")
async def create_program(
    request: Request,
    user: Admin,
    services: ServicesDep,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    description: Annotated[str, Form(max_length=4_000)] = "",
    objective: Annotated[str, Form(pattern="^(score|participation)$")] = "score",
    mentorship_length_days: Annotated[int, Form(ge=1, le=3650)] = 180,
    proposal_expiry_days: Annotated[str, Form(max_length=8)] = "",
    departments: Annotated[str, Form(max_length=4_000)] = "",
    min_level: Annotated[str, Form(max_length=4)] = "",
    max_level: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    form = await request.form()
    body: dict[str, Any] = {
        "name": name,
        "description": description.strip() or None,
        "objective": objective,
        "mentorship_length_days": mentorship_length_days,
        "eligibility": {
            "departments": parse_tags(departments) or None,
            "min_level": _optional_int(min_level),
            "max_level": _optional_int(max_level),
        },
    }
    try:
        body["weights"] = {w: float(str(form[f"weight_{w}"])) for w in WEIGHTS if form.get(f"weight_{w}")}
        if proposal_expiry_days.strip():
            body["proposal_expiry_days"] = float(proposal_expiry_days)
    except ValueError:
        return redirect("/admin/programs", error="Weights and expiry must be numbers.")
    try:
        program = await services.post("matching", "/v1/programs", token=user.token, json=body)
    except ApiError as error:
        return redirect("/admin/programs", error=f"The program was not created: {error.message}")
    return redirect(f"/admin/programs/{program['program_id']}", ok=f"Program “{name}” created.")


@router.get("/programs/{program_id}")
async def program_page(program_id: str, request: Request, user: Admin, services: ServicesDep) -> Response:
    program = await services.get("matching", f"/v1/programs/{program_id}", token=user.token)
    return render(request, "program.html", user=user, program=program)


@router.post("/programs/{program_id}/enrollments")
async def enroll(
    program_id: str,
    user: Admin,
    services: ServicesDep,
    mentee_ids: Annotated[str, Form(max_length=200_000)] = "",
    mentor_ids: Annotated[str, Form(max_length=200_000)] = "",
) -> Response:
    body = {"mentee_ids": parse_ids(mentee_ids), "mentor_ids": parse_ids(mentor_ids)}
    back = f"/admin/programs/{program_id}"
    try:
        await services.post("matching", f"/v1/programs/{program_id}/enrollments", token=user.token, json=body)
    except ApiError as error:
        return redirect(back, error=f"Nobody was enrolled: {error.message}")
    added = len(body["mentee_ids"]) + len(body["mentor_ids"])
    return redirect(back, ok=f"Enrolled {added} people.")


@router.post("/programs/{program_id}/rounds")
async def run_round(request: Request, program_id: str, user: Admin, services: ServicesDep) -> Response:
    try:
        report = await services.post(
            "matching",
            f"/v1/programs/{program_id}/rounds",
            token=user.token,
            timeout_s=request.app.state.settings.round_timeout_s,
        )
    except ApiError as error:
        return redirect(f"/admin/programs/{program_id}", error=f"The round did not run: {error.message}")
    return redirect(
        f"/admin/programs/{program_id}/rounds/{report['round_id']}",
        ok=f"Round completed: {report['matched']} matched.",
    )


def round_charts(report: dict[str, Any]) -> list[Any]:
    """The round report's three charts: score distribution, mentor load, matched vs unmatched."""
    scores = [pair["score"] for pair in report.get("pairs", [])]
    loads = sorted(report.get("mentor_load", {}).items(), key=lambda item: int(item[0]))
    outcome = [Bar("matched", report.get("matched", 0))] + [
        Bar(f"unmatched: {reason.replace('_', ' ')}", count)
        for reason, count in sorted(report.get("unmatched_reasons", {}).items())
    ]
    return [
        bar_chart(
            "chart-scores", "Score distribution of the matched pairs", histogram(scores), value_label="pairs"
        ),
        bar_chart(
            "chart-load",
            "Mentor load: how many mentors got how many mentees",
            [Bar(f"{load} mentee{'s' if load != '1' else ''}", count) for load, count in loads],
            value_label="mentors",
        ),
        bar_chart(
            "chart-outcome", "Matched and unmatched mentees, by reason", outcome, value_label="mentees"
        ),
    ]


@router.get("/programs/{program_id}/rounds/{round_id}")
async def round_page(
    program_id: str, round_id: str, request: Request, user: Admin, services: ServicesDep
) -> Response:
    report = await services.get("matching", f"/v1/programs/{program_id}/rounds/{round_id}", token=user.token)
    people = [p[role] for p in report.get("pairs", []) for role in ("mentee_id", "mentor_id")]
    people += [u["mentee_id"] for u in report.get("unmatched", [])]
    names = await names_of(services, user.token, people)
    return render(request, "round.html", user=user, report=report, charts=round_charts(report), names=names)


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@router.get("/mentorships")
async def mentorships_page(
    request: Request, user: Admin, services: ServicesDep, within_days: float = 3.0
) -> Response:
    active = await services.get("matching", "/v1/mentorships", token=user.token, status="accepted", limit=500)
    proposed = await services.get(
        "matching", "/v1/mentorships", token=user.token, status="proposed", limit=500
    )
    now = datetime.now(UTC)
    horizon = now + timedelta(days=max(0.0, within_days))
    expiring = []
    for item in proposed["items"]:
        expires = _parse_time(item.get("expires_at"))
        if expires is not None and expires <= horizon:
            hours = max(0.0, (expires - now).total_seconds() / 3600)
            expiring.append(item | {"hours_left": hours})
    expiring.sort(key=lambda item: item["hours_left"])
    shown = [*active["items"], *expiring]
    names = await names_of(
        services, user.token, [m[role] for m in shown for role in ("mentee_id", "mentor_id")]
    )
    return render(
        request,
        "admin_mentorships.html",
        user=user,
        active=active["items"],
        expiring=expiring,
        proposed_total=len(proposed["items"]),
        within_days=within_days,
        names=names,
    )
