"""``tandem report PROGRAM``: a program's health, outcomes and learned weights as tables.

The figures are the services' own (relationships: health and outcomes; matching: learned
weights); groups of fewer than three answers arrive withheld and are printed as such.
"""

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from tandem_cli.api import Api
from tandem_cli.views import bar

__all__ = ["ProgramReport", "fetch_report", "print_report", "report_tables"]

WITHHELD_TEXT = "fewer than 3 answers"


@dataclass(frozen=True, slots=True)
class ProgramReport:
    program_id: str
    health: dict[str, Any]
    outcomes: dict[str, Any]
    learned: dict[str, Any] | None
    learned_error: str | None = None  # why there are no learned weights to show


def _withheld(figure: Any) -> bool:
    return isinstance(figure, dict) and figure.get("withheld") is True


def _shown(figure: Any, text: str) -> str:
    if _withheld(figure) and figure.get("answers") == 0:
        return "[dim]no answers yet[/]"
    if _withheld(figure):
        return f"[dim]{WITHHELD_TEXT} ({figure.get('answers', '?')} so far)[/]"
    return "-" if figure is None else text


def _num(value: Any, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


async def fetch_report(relationships: Api, matching: Api, program_id: str, *, token: str) -> ProgramReport:
    """Health and outcomes (which must answer) and learned weights (reported if refused)."""
    health = (await relationships.call("GET", f"/v1/programs/{program_id}/health", token=token)).json()
    outcomes = (await relationships.call("GET", f"/v1/programs/{program_id}/outcomes", token=token)).json()
    answer = await matching.call(
        "GET", f"/v1/programs/{program_id}/weights/learned", token=token, ok=(200, 404, 409, 422)
    )
    if answer.status_code == 200:
        return ProgramReport(program_id, health, outcomes, answer.json())
    return ProgramReport(
        program_id, health, outcomes, None, f"matching answered {answer.status_code}: {answer.text[:200]}"
    )


def health_tables(health: dict[str, Any]) -> list[Table]:
    summary = Table(title=f"Program health ({health['program_id']})", show_header=False)
    summary.add_column("what")
    summary.add_column("value", justify="right")
    states = health["pairs_by_health"]
    for state in ("healthy", "at_risk", "inactive"):
        summary.add_row(f"pairs {state.replace('_', ' ')}", str(states.get(state, 0)))
    share = health.get("agreements_signed_share")
    summary.add_row("agreements signed", "-" if share is None else f"{100 * share:.0f}%")
    summary.add_row("days to first session (median)", _num(health.get("days_to_first_session_median"), ".1f"))
    sessions, hours = health["sessions"], health["hours"]
    summary.add_row(
        "sessions (total / median per pair)",
        f"{sessions['total']} / {_num(sessions['median_per_pair'], '.1f')}",
    )
    summary.add_row(
        "hours (total / median per pair)", f"{hours['total']:.1f} / {_num(hours['median_per_pair'], '.1f')}"
    )
    fit = health["fit_answers"]
    summary.add_row("fit answers", _shown(fit, ", ".join(f"{k} {v}" for k, v in fit.items())))
    pulse = health["pulse"]
    summary.add_row(
        "pulse (mean of 1-5)",
        _shown(pulse, f"{pulse.get('mean', 0):.2f} from {pulse.get('answers', 0)} answers"),
    )
    pairs = Table(title="Pairs")
    for column in (
        "mentee",
        "mentor",
        "health",
        "last session",
        "sessions",
        "pulse",
        "open requests",
        "notes",
    ):
        pairs.add_column(column, overflow="fold")
    colours = {"healthy": "green", "at_risk": "yellow", "inactive": "red"}
    for p in health["pairs"]:
        pairs.add_row(
            p.get("mentee_name") or p["mentee_id"],
            p.get("mentor_name") or p["mentor_id"],
            f"[{colours.get(p['health'], 'white')}]{p['health']}[/]",
            (p.get("last_session_at") or "never")[:10],
            str(p["sessions"]),
            "-" if p.get("latest_pulse") is None else str(p["latest_pulse"]),
            str(p["open_requests"]),
            str(len(p.get("admin_notes", []))),
        )
    return [summary, pairs]


def outcome_tables(outcomes: dict[str, Any]) -> list[Table]:
    summary = Table(title="Program outcomes", show_header=False)
    summary.add_column("what")
    summary.add_column("value", justify="right")
    ended = outcomes["ended"]
    summary.add_row("completed", str(ended["completed"]))
    summary.add_row("ended early", str(ended["ended_early"]))
    for reason, count in ended["by_reason"].items():
        summary.add_row(f"  ended: {reason.replace('_', ' ')}", str(count))
    goals = outcomes["goals_achieved"]
    summary.add_row(
        "goals achieved (yes / partly / no)",
        _shown(goals, " / ".join(f"{100 * goals.get(k, 0):.0f}%" for k in ("yes", "partly", "no"))),
    )
    satisfaction = outcomes["satisfaction"]
    for key, label in (("final_mean", "satisfaction at the end"), ("pulse_mean", "satisfaction in pulses")):
        value = satisfaction.get(key)
        summary.add_row(f"{label} (mean of 1-5)", _shown(value, _num(value)))
    recommend = outcomes["would_recommend"]
    summary.add_row(
        "would recommend (score)",
        _shown(recommend, f"{recommend.get('score', 0):+.1f} from {recommend.get('answers', 0)} answers"),
    )
    tables = [summary]
    if outcomes.get("level_gain"):
        gains = Table(title="Level gain by goal skill")
        gains.add_column("skill")
        gains.add_column("mean gain", justify="right")
        gains.add_column("mentees", justify="right")
        for gain in outcomes["level_gain"]:
            if _withheld(gain):
                gains.add_row(gain["skill"], f"[dim]{WITHHELD_TEXT}[/]", "")
            else:
                gains.add_row(gain["skill"], f"{gain['mean']:+.2f}", str(gain["count"]))
        tables.append(gains)
    return tables


def learned_tables(learned: dict[str, Any]) -> list[Table]:
    if learned.get("status") != "ready":
        short = Table(title="Learned weights", show_header=False)
        short.add_column("what")
        short.add_column("value", justify="right")
        short.add_row("outcomes so far", str(learned.get("outcomes_used", 0)))
        short.add_row("needed", str(learned.get("needed", "?")))
        short.add_row("more needed", f"[yellow]{learned.get('more_needed', '?')}[/]")
        return [short]
    held = learned["held_out"]
    table = Table(
        title=f"Learned weights ({learned['outcomes_used']} outcomes, scope {learned['scope']}); "
        f"held-out {held['metric']}: current {held['current']:.3f}, proposed {held['proposed']:.3f}",
        caption=learned.get("verdict"),
    )
    for column in ("component", "effect", "90% interval", "excludes 0", "current", "proposed", ""):
        table.add_column(column, justify="left" if column in ("component", "") else "right")
    for c in learned["components"]:
        lo, hi = c["ci90"]
        proposed = learned["proposed_weights"].get(c["name"], 0.0)
        table.add_row(
            c["name"],
            f"{c['effect']:+.3f}",
            f"[{lo:+.3f}, {hi:+.3f}]",
            "[green]yes[/]" if c["significant"] else "no",
            f"{learned['current_weights'].get(c['name'], 0.0):.3f}",
            f"{proposed:.3f}",
            bar(proposed),
        )
    return [table]


def report_tables(report: ProgramReport) -> list[Table]:
    tables = health_tables(report.health) + outcome_tables(report.outcomes)
    if report.learned is not None:
        tables += learned_tables(report.learned)
    return tables


def print_report(report: ProgramReport, console: Console) -> None:
    for table in report_tables(report):
        console.print(table)
    if report.learned is None:
        console.print(f"[yellow]no learned weights: {report.learned_error}[/]")
