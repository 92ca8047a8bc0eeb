"""``tandem report``: the program's figures as tables, withheld groups said so, never guessed."""

import pytest
from rich.console import Console
from tandem_cli.report import ProgramReport, print_report

pytestmark = pytest.mark.unit

WITHHELD = {"withheld": True, "reason": "fewer than 3 answers", "answers": 2}
HEALTH = {
    "program_id": "p-1",
    "pairs_by_health": {"healthy": 2, "at_risk": 1, "inactive": 0},
    "agreements_signed_share": 0.667,
    "days_to_first_session_median": 3.5,
    "sessions": {"total": 5, "median_per_pair": 2.0},
    "hours": {"total": 4.5, "median_per_pair": 1.5},
    "fit_answers": {"good": 3, "unsure": 1, "poor": 0},
    "pulse": WITHHELD,
    "pairs": [
        {
            "mentorship_id": "m-1",
            "mentor_id": "e-2",
            "mentor_name": "Grace Hopper",
            "mentee_id": "e-1",
            "mentee_name": "Ada Lovelace",
            "health": "at_risk",
            "last_session_at": "2026-11-20T10:00:00Z",
            "sessions": 2,
            "latest_pulse": 2,
            "open_requests": 1,
            "admin_notes": [],
        }
    ],
}
OUTCOMES = {
    "ended": {"completed": 3, "ended_early": 1, "by_reason": {"completed": 3, "not_a_fit": 1}},
    "goals_achieved": {"yes": 0.5, "partly": 0.25, "no": 0.25, "answers": 4},
    "level_gain": [{"skill": "Kafka", "mean": 1.5, "count": 4}, {"skill": "Rust", **WITHHELD}],
    "satisfaction": {"final_mean": 4.25, "pulse_mean": None, "answers_final": 4, "answers_pulse": 0},
    "would_recommend": WITHHELD,
}
LEARNED = {
    "status": "ready",
    "scope": "program",
    "outcomes_used": 42,
    "components": [{"name": "goal_fit", "effect": 0.41, "ci90": [0.22, 0.6], "significant": True}],
    "current_weights": {"goal_fit": 0.45},
    "proposed_weights": {"goal_fit": 0.8},
    "held_out": {"metric": "spearman", "current": 0.21, "proposed": 0.34, "gain": 0.13},
    "verdict": "the proposal ranks held-out pairs better",
}


def printed(report: ProgramReport) -> str:
    console = Console(width=200, record=True)
    print_report(report, console)
    return console.export_text()


def test_the_report_prints_health_outcomes_and_learned_weights_with_withheld_groups_named():
    text = printed(ProgramReport("p-1", HEALTH, OUTCOMES, LEARNED))
    assert "Ada Lovelace" in text and "Grace Hopper" in text and "at_risk" in text
    assert "agreements signed" in text and "67%" in text
    assert "good 3, unsure 1, poor 0" in text
    assert "fewer than 3 answers (2 so far)" in text.split("pulse (mean of 1-5)")[1].splitlines()[0]
    assert "50% / 25% / 25%" in text
    rust = next(line for line in text.splitlines() if "Rust" in line)
    assert "fewer than 3 answers" in rust
    assert "fewer than 3 answers" in next(line for line in text.splitlines() if "would recommend" in line)
    assert "[+0.220, +0.600]" in text and "the proposal ranks held-out pairs better" in text


def test_too_few_outcomes_say_how_many_more_and_a_refusal_is_reported():
    short = {"status": "insufficient", "outcomes_used": 12, "needed": 30, "more_needed": 18}
    text = printed(ProgramReport("p-1", HEALTH, OUTCOMES, short))
    assert "more needed" in text and "18" in text.split("more needed")[1].splitlines()[0]
    refused = printed(ProgramReport("p-1", HEALTH, OUTCOMES, None, "matching answered 404: Not Found"))
    assert "no learned weights: matching answered 404" in refused
