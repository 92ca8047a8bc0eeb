"""The report is assembled from the benches' figures: ``uv run --frozen pytest bench/test_report.py``."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import draw, render

pytestmark = pytest.mark.unit


def _e2e_rate(rate: float, delivered: int, sent: int) -> dict:
    def path(p50: float | None, p99: float | None, arrived: int, behind: bool) -> dict:
        return {
            "sent": sent,
            "achieved_rate": rate,
            "delivered": arrived,
            "p50_ms": p50,
            "p99_ms": p99,
            "max_ms": p99 or 900.0,
            "first_fifth_p50_ms": p50,
            "last_fifth_p50_ms": p50 if not behind else None,
            "delivered_per_s": rate * arrived / sent,
            "behind": behind,
        }

    pipeline = path(
        400.0 if delivered == sent else 5000.0,
        None if delivered < sent else 900.0,
        delivered,
        delivered < sent,
    )
    pipeline |= {"startup_s": 20.0, "warmup_s": 3.0, "stages": {"profiles stored (profiles)": sent}}
    pipeline["memory_mib"] = {
        s: {"idle": 90.0, "peak": 120.0} for s in ("profiles", "matching", "notifications")
    }
    return {"rate": rate, "kafka": path(8.0, 30.0, sent, False), "pipeline": pipeline}


def figures() -> dict:
    flow = {"seconds": 7.8, "total_score": 13851.1, "mean_score": 0.70, "matched": 19799, "certified": True}
    greedy = {"seconds": 6.4, "total_score": 13332.2, "mean_score": 0.69, "matched": 19303}
    return {
        "mode": "quick",
        "command": "uv run --frozen python bench/run_all.py --quick",
        "machine": {
            "date": "2026-11-26 01:00 UTC",
            "commit": "0123456789abcdef",
            "dirty": True,
            "cpu_model": "AMD EPYC",
            "logical_cores": 2,
            "physical_cores": 1,
            "memory_gib": 7.7,
            "python": "3.11.9",
            "platform": "Linux",
            "load_start": [1.5, 1.2, 1.0],
            "load_end": [2.5, 2.0, 1.4],
            "total_s": 600.0,
        },
        "durations": {"round": 12.0, "e2e": 100.0, "ingest": 50.0},
        "failed": ["ingest"],
        "benches": {
            "round": {
                "large": {"mentees": 20000, "mentors": 2000, "capacity": 10, "top_k": 40}
                | {"flow_score": flow, "flow_participation": flow, "greedy": greedy},
                "reference": {"mentees": 2000, "mentors": 400, "capacity": 5}
                | {"exact_score": flow, "flow_score": flow}
                | {
                    f"{w}_equals_exact_{o}": True
                    for w in ("topk", "dense")
                    for o in ("score", "participation")
                },
            },
            "e2e": {
                "seconds": 10,
                "wait_s": 30,
                "emails_per_event": 2,
                "rates": [_e2e_rate(50, 500, 500), _e2e_rate(200, 1200, 2000)],
            },
            "ingest": None,
            "suggest_http": {
                "mentors": 100000,
                "queries": 300,
                "load_s": 28.7,
                "startup_s": 104.1,
                "index_build_s": 2.3,
                "memory_mib": {"startup_peak": 900.0, "ready": 700.0, "queries_peak": 710.0},
                "service_process": "separate process: python -m tandem_matching",
                "http": {"p50_ms": 19.9, "p99_ms": 35.5, "max_ms": 39.8},
                "domain": {"p50_ms": 5.7, "p99_ms": 15.7, "max_ms": 16.2},
            },
        },
    }


def test_each_measure_stands_beside_its_baseline_with_a_ratio() -> None:
    text = render(figures())
    assert "| baseline: greedy | 6.40 | 13,332.2 | 19,303 | 0.6900 | 1.00 | 1.000 |" in text
    assert "| min-cost flow (score), certified optimal | 7.80 | 13,851.1 |" in text
    assert "| 50 | 8 | 30 | 400 | 900 | 50.00 | 500 of 500 |" in text
    assert "projection into the store **28.7 s**" in text
    assert (
        "| HTTP `GET /v1/mentees/{id}/suggestions` (service process) | 19.90 | 35.50 | 39.80 | 3.49 |" in text
    )


def test_a_pipeline_that_falls_behind_is_said_to_and_its_late_emails_count_as_beyond_the_wait() -> None:
    text = render(figures())
    assert (
        "**200/s: the pipeline falls behind.** Only 1,200 of 2,000 welcome emails arrived within 30 s" in text
    )
    assert "| > 30 s |" in text
    assert "50/s: the pipeline keeps up" in text
    assert "| 200 | 2,000 | 2,000 | 1,200 | 20.0 | 3.0 |" in text


def test_a_failed_bench_is_reported_not_hidden_and_the_load_averages_are_printed() -> None:
    text = render(figures())
    assert "## 1. HR-event ingest\n\n_failed: no figures" in text
    assert "| ingest | 0.8 | failed |" in text
    assert "| load average (1/5/15 min) at start | 1.50 / 1.20 / 1.00 |" in text


def test_the_chart_is_a_png(tmp_path: Path) -> None:
    draw(figures(), tmp_path / "report.png")
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_cost_per_thousand_events_of_each_process_stands_beside_the_baseline() -> None:
    data = figures()
    rate = data["benches"]["e2e"]["rates"][0]
    rate["kafka"]["cost"] = {"cpu": {"Kafka broker": 0.5, "bench process": 0.25}, "commands": {}}
    rate["pipeline"]["cost"] = {
        "cpu": {"profiles": 2.0, "store": 5.0, "bench process": 1.0},
        "commands": {"profiles": 3000.0},
    }
    text = render(data)
    assert "### 50 joined/s: cost per 1,000 events (500 events measured)" in text
    assert "| Kafka round trip (baseline) | Kafka broker | 1.00 | — |" in text
    assert "| Kafka round trip (baseline) | **all processes** | **1.50** | **0** |" in text
    assert "| services → welcome email | profiles | 4.00 | 6,000 |" in text
    assert "| services → welcome email | store | 10.00 | — |" in text
    assert "| services → welcome email | **all processes** | **16.00** | **6,000** |" in text
    assert "| services → welcome email | **all but the bench process** | **14.00** | **6,000** |" in text
    assert "| Kafka round trip (baseline) | **all but the bench process** | **1.00** | **0** |" in text


def test_the_growth_check_sets_the_cpu_per_event_over_a_full_store_beside_the_empty_one() -> None:
    data = figures()

    def ingest(stored: int, service_cpu: float) -> dict:
        return {
            "events": 2000,
            "stored": stored,
            "baseline": {"seconds": 1.0, "events_per_s": 2000.0},
            "service": {"seconds": 4.0, "events_per_s": 500.0},
            "ratio": 0.25,
            "costs": {
                "baseline: aiokafka + bulk_write": {
                    "cpu": {"store": 1.0, "bench process": 0.2},
                    "commands": {},
                },
                "Tandem profiles service (in the bench process)": {
                    "cpu": {"store": service_cpu},
                    "commands": {},
                },
            },
        }

    data["benches"] |= {"ingest": ingest(0, 4.0), "ingest_stored": ingest(100_000, 6.0)}
    text = render(data)
    assert "### Growth check: the same ingest after 100,000 profiles are stored" in text
    assert "| baseline: aiokafka + bulk_write | 0.60 | 0.60 | +0% | 2,000 |" in text
    assert "| Tandem profiles service (in the bench process) | 2.00 | 3.00 | +50% | 500 |" in text
