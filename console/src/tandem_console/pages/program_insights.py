"""Program admins: whether a program works — health, outcomes, learned weights, CSV exports.

The figures come from the relationships service (health, outcomes, exports, admin notes,
nudges) and the matching service (learned weights); groups of fewer than three answers arrive
withheld and are shown as such, never guessed at.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import Response

from tandem_console.api import ApiError
from tandem_console.charts import Bar, Chart, bar_chart
from tandem_console.session import redirect
from tandem_console.web import Admin, ServicesDep, render

__all__ = ["health_charts", "outcome_charts", "router", "withheld"]

router = APIRouter(prefix="/admin/programs/{program_id}")
SORTS = {
    "fewest_sessions": "fewest sessions",
    "oldest_last_session": "oldest last session",
    "lowest_pulse": "lowest pulse",
}
EXPORTS = {"pairs.csv": "pairs", "feedback.csv": "feedback"}
# The matching service's update of a program's weights; applying a proposal is nothing more.
WEIGHTS_UPDATE = "/v1/programs/{program_id}/weights"


def withheld(figure: Any) -> bool:
    """A figure the service withheld (fewer than three people answered)."""
    return isinstance(figure, dict) and figure.get("withheld") is True


def health_charts(health: dict[str, Any]) -> list[Chart]:
    """Pairs by health state, and the fit answers and pulse distribution when not withheld."""
    states = health.get("pairs_by_health", {})
    charts = [
        bar_chart(
            "chart-health",
            "Open pairs by health",
            [
                Bar(state.replace("_", " "), states.get(state, 0))
                for state in ("healthy", "at_risk", "inactive")
            ],
            value_label="pairs",
        )
    ]
    fit = health.get("fit_answers")
    if isinstance(fit, dict) and not withheld(fit):
        charts.append(
            bar_chart(
                "chart-fit",
                "Is it a good fit? Answers",
                [Bar(k, v) for k, v in fit.items()],
                value_label="answers",
            )
        )
    pulse = health.get("pulse")
    if isinstance(pulse, dict) and not withheld(pulse):
        charts.append(
            bar_chart(
                "chart-pulse",
                "Pulse survey: satisfaction from 1 to 5",
                [Bar(k, v) for k, v in sorted(pulse.get("distribution", {}).items())],
                value_label="answers",
            )
        )
    return charts


def outcome_charts(outcomes: dict[str, Any]) -> dict[str, Chart]:
    """The outcome charts that have data to show, by name; withheld figures have none."""
    charts: dict[str, Chart] = {}
    goals = outcomes.get("goals_achieved")
    if isinstance(goals, dict) and not withheld(goals):
        charts["goals"] = bar_chart(
            "chart-goals",
            "Goals achieved, as the mentees said at the end (% of answers)",
            [Bar(k, round(100 * goals.get(k, 0.0), 1)) for k in ("yes", "partly", "no")],
            value_label="% of answers",
        )
    gains = [g for g in outcomes.get("level_gain", []) if not withheld(g)]
    if gains:
        # A bar cannot go below the axis: a loss is drawn as 0 and its table row says the value.
        charts["level_gain"] = bar_chart(
            "chart-level-gain",
            "Level gain by skill (final level minus the agreement's)",
            [Bar(g["skill"], max(0.0, g["mean"])) for g in gains],
            value_label="mean levels gained",
        )
    satisfaction = outcomes.get("satisfaction", {})
    means = [
        Bar(label, satisfaction[key])
        for key, label in (("final_mean", "final"), ("pulse_mean", "pulse"))
        if isinstance(satisfaction.get(key), int | float)
    ]
    if means:
        charts["satisfaction"] = bar_chart(
            "chart-satisfaction", "Satisfaction (mean, 1 to 5)", means, value_label="mean rating"
        )
    recommend = outcomes.get("would_recommend")
    if isinstance(recommend, dict) and not withheld(recommend):
        passives = recommend["answers"] - recommend["promoters"] - recommend["detractors"]
        charts["recommend"] = bar_chart(
            "chart-recommend",
            "Would recommend (0-10): promoters 9-10, passives 7-8, detractors 0-6",
            [
                Bar("promoters", recommend["promoters"]),
                Bar("passives", passives),
                Bar("detractors", recommend["detractors"]),
            ],
            value_label="mentees",
        )
    return charts


async def _program(services: ServicesDep, user: Admin, program_id: str) -> dict[str, Any]:
    program: dict[str, Any] = await services.get("matching", f"/v1/programs/{program_id}", token=user.token)
    return program


@router.get("/health")
async def health_page(
    program_id: str, request: Request, user: Admin, services: ServicesDep, sort: str | None = None
) -> Response:
    sort = sort if sort in SORTS else None
    program = await _program(services, user, program_id)
    health = await services.get(
        "relationships", f"/v1/programs/{program_id}/health", token=user.token, sort=sort
    )
    return render(
        request,
        "program_health.html",
        user=user,
        program=program,
        health=health,
        charts=health_charts(health),
        sorts=SORTS,
        sort=sort,
        withheld=withheld,
    )


@router.post("/pairs/{mentorship_id}/notes")
async def add_note(
    program_id: str,
    mentorship_id: str,
    user: Admin,
    services: ServicesDep,
    text: Annotated[str, Form(max_length=2_000)] = "",
) -> Response:
    back = f"/admin/programs/{program_id}/health#pair-{mentorship_id}"
    if not text.strip():
        return redirect(back, error="The note is empty: write something first.")
    try:
        await services.post(
            "relationships",
            f"/v1/mentorships/{mentorship_id}/admin-notes",
            token=user.token,
            json={"text": text},
        )
    except ApiError as error:
        return redirect(back, error=f"The note was not kept: {error.message}")
    return redirect(back, ok="Note added.")


@router.post("/pairs/{mentorship_id}/nudge")
async def nudge(
    program_id: str,
    mentorship_id: str,
    user: Admin,
    services: ServicesDep,
    message: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    back = f"/admin/programs/{program_id}/health#pair-{mentorship_id}"
    try:
        await services.post(
            "relationships",
            f"/v1/mentorships/{mentorship_id}/nudge",
            token=user.token,
            json={"message": message.strip() or None},
        )
    except ApiError as error:
        return redirect(back, error=f"The nudge was not sent: {error.message}")
    return redirect(back, ok="Nudge sent to both of the pair.")


@router.get("/outcomes")
async def outcomes_page(program_id: str, request: Request, user: Admin, services: ServicesDep) -> Response:
    program = await _program(services, user, program_id)
    outcomes = await services.get("relationships", f"/v1/programs/{program_id}/outcomes", token=user.token)
    return render(
        request,
        "program_outcomes.html",
        user=user,
        program=program,
        outcomes=outcomes,
        charts=outcome_charts(outcomes),
        withheld=withheld,
    )


async def _learned(services: ServicesDep, user: Admin, program_id: str) -> dict[str, Any]:
    learned: dict[str, Any] = await services.get(
        "matching", f"/v1/programs/{program_id}/weights/learned", token=user.token
    )
    return learned


@router.get("/weights")
async def weights_page(program_id: str, request: Request, user: Admin, services: ServicesDep) -> Response:
    program = await _program(services, user, program_id)
    unavailable = None
    learned: dict[str, Any] = {}
    try:
        learned = await _learned(services, user, program_id)
    except ApiError as error:
        if error.status >= 500 or error.status in (401, 403):
            raise
        unavailable = error.message  # e.g. a matching service without learned weights yet
    charts = []
    if learned.get("status") == "ready":
        names = list(learned["proposed_weights"])
        charts = [
            bar_chart(
                "chart-weights-current",
                "Current weights",
                [Bar(n, learned["current_weights"].get(n, 0.0)) for n in names],
                value_label="weight",
            ),
            bar_chart(
                "chart-weights-proposed",
                "Proposed weights",
                [Bar(n, learned["proposed_weights"][n]) for n in names],
                value_label="weight",
            ),
        ]
    return render(
        request,
        "program_weights.html",
        user=user,
        program=program,
        learned=learned,
        unavailable=unavailable,
        charts=charts,
    )


@router.post("/weights/apply")
async def apply_weights(program_id: str, user: Admin, services: ServicesDep) -> Response:
    """Apply the proposal as the service makes it now (not as a form could claim it was)."""
    back = f"/admin/programs/{program_id}/weights"
    try:
        learned = await _learned(services, user, program_id)
        if learned.get("status") != "ready":
            return redirect(back, error="There is no proposal to apply yet: more outcomes are needed.")
        await services.put(
            "matching",
            WEIGHTS_UPDATE.format(program_id=program_id),
            token=user.token,
            json=learned["proposed_weights"],
        )
    except ApiError as error:
        return redirect(back, error=f"The weights were not changed: {error.message}")
    return redirect(back, ok="The proposed weights now apply to this program's next rounds.")


@router.get("/exports/{name}")
async def export(program_id: str, name: str, user: Admin, services: ServicesDep) -> Response:
    """A CSV export, fetched with the admin's own token and handed on as a download."""
    if name not in EXPORTS:
        raise HTTPException(404, f"No export named {name}: there are {', '.join(EXPORTS)}.")
    answer = await services.send(
        "relationships", "GET", f"/v1/programs/{program_id}/{name}", token=user.token
    )
    disposition = answer.headers.get("content-disposition", f'attachment; filename="{name}"')
    return Response(
        answer.content,
        media_type=answer.headers.get("content-type", "text/csv; charset=utf-8"),
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )
