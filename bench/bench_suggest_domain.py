"""Latency of `suggest` (top-5 for one mentee) over 100,000 mentors, domain only.

uv run --frozen python bench/bench_suggest_domain.py [--mentors N] [--queries N] [--out bench/results]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from bench_round import make_people
from benchlib import add_out_argument, stamp, write_results
from tandem_matching.domain.index import MentorIndex
from tandem_matching.domain.model import Weights
from tandem_matching.domain.suggestions import suggest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mentors", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    add_out_argument(parser)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    mentors = make_people(rng, args.mentors, "mentor", prefix="m", capacity=3)
    mentees = make_people(rng, args.queries, "mentee", prefix="e")
    start = time.perf_counter()
    index = MentorIndex(mentors)
    build = time.perf_counter() - start
    demand = rng.integers(0, 4, size=len(index))

    lines = [
        f"### suggest top-5 over {args.mentors:,} mentors ({args.queries} queries)\n",
        f"index build {build:.2f} s\n",
        "| variant | p50 ms | p99 ms | max ms |\n|---|---|---|---|",
    ]
    print("\n" + "\n".join(lines), flush=True)
    variants = []
    for name, kwargs in (
        ("plain", {}),
        ("with demand spreading", {"demand": demand}),
        ("with 20 exclusions", {"exclude": {f"m{i}" for i in range(20)}}),
    ):
        suggest(index, mentees[0], Weights(), **kwargs)  # type: ignore[arg-type]  # warm-up
        times = []
        for mentee in mentees:
            t0 = time.perf_counter()
            result = suggest(index, mentee, Weights(), limit=5, **kwargs)  # type: ignore[arg-type]
            times.append((time.perf_counter() - t0) * 1000)
            assert len(result) <= 5
        p50, p99 = np.percentile(times, [50, 99])
        variants.append({"name": name, "p50_ms": float(p50), "p99_ms": float(p99), "max_ms": max(times)})
        lines.append(f"| {name} | {p50:.2f} | {p99:.2f} | {max(times):.2f} |")
        print(lines[-1], flush=True)
    command = f"uv run --frozen python bench/bench_suggest_domain.py --mentors {args.mentors} --queries {args.queries}"
    write_results(
        args.out,
        "suggest_domain",
        "\n".join([f"# Suggestion latency, domain only (`{command}`, {stamp()})\n", *lines]),
        {"mentors": args.mentors, "queries": args.queries, "index_build_s": build, "variants": variants},
    )


if __name__ == "__main__":
    main()
