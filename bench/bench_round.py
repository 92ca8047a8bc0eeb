"""Bench a program round on the pure matching domain (no I/O).

    uv run --frozen python bench/bench_round.py [--quick] [--seed N] [--out bench/results]

Large: 20,000 mentees x 2,000 mentors (capacity 10): index build, block-wise scoring straight
into top-K candidate lists (`round_candidates`, no dense matrix), min-cost flow with its
optimality certificate over every feasible pair, next to the greedy baseline.
Reference: 2,000 mentees x 400 mentors (capacity 5): the same, and the dense path
(`score_matrix` + `assign`), next to the exact dense optimum (`linear_sum_assignment` on the
capacity-expanded matrix). ``--quick``: 2,000 x 400 (capacity 10) and 400 x 80 (capacity 5).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np
from benchlib import add_out_argument, stamp, write_results
from tandem_matching.domain.assignment import (
    Assignment,
    assign,
    assign_exact_dense,
    assign_greedy,
    load_histogram,
)
from tandem_matching.domain.index import MentorIndex
from tandem_matching.domain.model import Person, Skill, Weights
from tandem_matching.domain.scoring import round_candidates, score_matrix

T = TypeVar("T")
TOP_K = 40

SKILLS = [f"skill{i:03d}" for i in range(200)]
INTERESTS = [f"interest{i:02d}" for i in range(60)]
DEPARTMENTS = [f"dept{i:02d}" for i in range(15)]
TIMEZONES = [
    ("Europe/Berlin", 0.30),
    ("Europe/London", 0.15),
    ("America/New_York", 0.2),
    ("America/Los_Angeles", 0.1),
    ("Asia/Kolkata", 0.1),
    ("Asia/Singapore", 0.05),
    ("Australia/Sydney", 0.03),
    ("America/Sao_Paulo", 0.04),
    ("Asia/Tokyo", 0.03),
]
LANGUAGES = [("en", 0.85), ("de", 0.25), ("fr", 0.12), ("es", 0.12), ("hi", 0.08), ("ja", 0.03)]


def _zipf_pick(rng: np.random.Generator, vocab: list[str], k: int) -> list[str]:
    weights = 1.0 / np.arange(1, len(vocab) + 1) ** 0.8
    size = min(k, len(vocab))
    picks = rng.choice(len(vocab), size=size, replace=False, p=weights / weights.sum())
    return [vocab[i] for i in picks]


def make_people(
    rng: np.random.Generator, n: int, role: str, *, prefix: str, capacity: int = 10
) -> list[Person]:
    """Random but plausible employees; mentors skew senior, mentees junior."""
    tz_names, tz_p = zip(*TIMEZONES, strict=True)
    tz_prob = np.array(tz_p) / sum(tz_p)
    people = []
    for i in range(n):
        mentor = role == "mentor"
        level = int(np.clip(rng.normal(5.5 if mentor else 3.0, 1.5), 1, 9))
        languages = tuple(lang for lang, p in LANGUAGES if rng.random() < p) or ("en",)
        names = _zipf_pick(rng, SKILLS, int(rng.integers(3, 9) if mentor else rng.integers(1, 5)))
        offered = tuple(Skill(s, int(rng.integers(2, 6))) for s in names)
        skills, goals = (offered, ()) if mentor else ((), offered)
        people.append(
            Person(
                employee_id=f"{prefix}{i}",
                active=rng.random() > 0.01,
                roles=frozenset({role}),
                department=DEPARTMENTS[int(rng.integers(len(DEPARTMENTS)))],
                level=level,
                manager_id=f"{prefix}{int(rng.integers(n))}" if rng.random() < 0.9 else None,
                location=None,
                timezone=str(rng.choice(tz_names, p=tz_prob)),
                languages=languages,
                skills=skills,
                goals=goals,
                interests=tuple(_zipf_pick(rng, INTERESTS, int(rng.integers(0, 6)))),
                mentor_capacity=capacity if mentor else 0,
                active_mentees=0,
                department_preference=str(rng.choice(["same", "other", "any"], p=[0.3, 0.3, 0.4])),  # type: ignore[arg-type]
            )
        )
    return people


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def row(name: str, a: Assignment, seconds: float, n_mentors: int) -> str:
    loads = load_histogram(a, n_mentors)
    full = max(loads) if loads else 0
    optimal = {True: "yes", False: "no", None: "-"}[a.optimal]
    return (
        f"| {name} | {a.matched} | {a.total_score:.3f} | {a.mean_score:.4f} | {a.min_score:.4f} "
        f"| {len(a.unmatched)} | {loads.get(full, 0)} at {full} | {optimal} | {seconds:.2f} |"
    )


HEADER = (
    "| solver | matched | total score | mean | min | unmatched | mentors at max load "
    "| certified | solve s |\n|---|---|---|---|---|---|---|---|---|"
)


def figures(a: Assignment, seconds: float) -> dict[str, float | int]:
    return {
        "seconds": seconds,
        "total_score": a.total_score,
        "mean_score": a.mean_score,
        "matched": a.matched,
    }


def run(
    n_mentees: int, n_mentors: int, capacity: int, *, seed: int, exact: bool
) -> tuple[list[str], dict[str, object]]:
    """One instance: its markdown lines (also printed as they come) and its figures."""
    lines: list[str] = []

    def emit(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    rng = np.random.default_rng(seed)
    mentors = make_people(rng, n_mentors, "mentor", prefix="m", capacity=capacity)
    mentees = make_people(rng, n_mentees, "mentee", prefix="e")
    index, t_index = timed(lambda: MentorIndex(mentors))
    cands, t_score = timed(lambda: round_candidates(index, mentees, Weights(), top_k=TOP_K))
    caps = index.free_capacity
    emit(f"\n### {n_mentees:,} mentees x {n_mentors:,} mentors, capacity {capacity}\n")
    emit(
        f"index build {t_index:.2f} s, scoring + constraints into top-{TOP_K} lists "
        f"{t_score:.2f} s ({cands.size:,} pairs), seats {int(caps.sum()):,}\n"
    )
    emit(HEADER)
    result: dict[str, object] = {
        "mentees": n_mentees,
        "mentors": n_mentors,
        "capacity": capacity,
        "top_k": TOP_K,
        "index_s": t_index,
        "scoring_s": t_score,
    }
    for objective in ("score", "participation"):
        a, t = timed(lambda: assign(cands, None, caps, objective=objective))  # noqa: B023
        result[f"flow_{objective}"] = figures(a, t_score + t) | {"certified": bool(a.optimal)}
        emit(row(f"min-cost flow top-{TOP_K} ({objective})", a, t, n_mentors))
        if exact:
            (scores, feasible, _), t_dense = timed(lambda: score_matrix(index, mentees))
            d, t = timed(lambda: assign(scores, feasible, caps, objective=objective))  # noqa: B023
            emit(row(f"dense matrix + flow ({objective})", d, t + t_dense, n_mentors))
            e, t = timed(lambda: assign_exact_dense(scores, feasible, caps, objective=objective))  # noqa: B023
            emit(row(f"exact dense LSA ({objective})", e, t, n_mentors))
            result[f"exact_{objective}"] = figures(e, t + t_dense)
            for name, got in (("top-K", a), ("dense", d)):
                same = abs(got.total_score - e.total_score) <= 1e-6 * max(1, got.matched)
                result[f"{name.lower().replace('-', '')}_equals_exact_{objective}"] = same and (
                    got.matched == e.matched
                )
                emit(
                    f"| {name} equal to exact optimum ({objective}) | {got.matched == e.matched} "
                    f"| {same} | | | | | | |"
                )
    greedy_cands, t_c = timed(lambda: round_candidates(index, mentees, Weights(), top_k=100))
    g, t = timed(lambda: assign_greedy(greedy_cands, None, caps))
    result["greedy"] = figures(g, t + t_c)
    emit(row("greedy best-pair-first (top-100 lists)", g, t + t_c, n_mentors))
    flow_s = result["flow_score"]["seconds"]  # type: ignore[index]
    participation_s = result["flow_participation"]["seconds"]  # type: ignore[index]
    emit(
        f"\nround (scoring + solve): score {flow_s:.2f} s, participation {participation_s:.2f} s, "
        f"greedy {t + t_c:.2f} s"
    )
    return lines, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small instances only")
    parser.add_argument("--seed", type=int, default=7)
    add_out_argument(parser)
    args = parser.parse_args()
    # (large instance, reference instance with the exact dense optimum)
    sizes = ((2_000, 400, 10), (400, 80, 5)) if args.quick else ((20_000, 2_000, 10), (2_000, 400, 5))
    large_lines, large = run(*sizes[0], seed=args.seed, exact=False)
    reference_lines, reference = run(*sizes[1], seed=args.seed, exact=True)
    command = "uv run --frozen python bench/bench_round.py" + (" --quick" if args.quick else "")
    markdown = "\n".join([f"# Round benchmark (`{command}`, {stamp()})", *large_lines, *reference_lines])
    write_results(args.out, "round", markdown, {"large": large, "reference": reference})


if __name__ == "__main__":
    main()
