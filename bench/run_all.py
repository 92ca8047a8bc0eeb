"""``make bench``: every benchmark, each next to its baseline; one ``REPORT.md`` and ``report.png``.

    uv run --frozen python bench/run_all.py [--quick] [--out DIR] [--only BENCH ...]

Full mode (the default, the reference sizes) writes into ``bench/results/``; ``--quick`` (small
sizes, to check that everything runs) into ``bench/results/quick/``, which git ignores. Both
modes run the same scripts with the same code; only the sizes differ. Each script writes its own
``<bench>.md`` and ``<bench>.json``; this one adds ``REPORT.md``, ``report.png`` and
``report.json`` (everything the report was drawn from).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
from benchlib import RESULTS
from report import draw, render

HERE = Path(__file__).resolve().parent
# name: (script, full-size arguments, quick arguments); the scripts' defaults are the full sizes.
BENCHES: dict[str, tuple[str, list[str], list[str]]] = {
    "round": ("bench_round.py", [], ["--quick"]),
    "suggest_domain": ("bench_suggest_domain.py", [], ["--mentors", "10000", "--queries", "100"]),
    "ingest": ("bench_ingest.py", [], ["--events", "2000"]),
    # the growth check: the same ingest over a store that already holds 100,000 profiles
    "ingest_stored": ("bench_ingest.py", ["--stored", "100000"], ["--events", "2000", "--stored", "4000"]),
    "e2e": ("bench_e2e.py", [], ["--seconds", "10", "--wait", "30"]),
    "notifications": ("bench_notifications.py", [], ["--burst", "300", "--rate", "50", "--seconds", "5"]),
    "suggest_http": ("bench_suggest_http.py", [], ["--mentors", "10000", "--queries", "100"]),
}


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def _cpu_model() -> str:
    with_model = Path("/proc/cpuinfo")
    if with_model.exists():
        for line in with_model.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine_facts() -> dict[str, Any]:
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": _git("rev-parse", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "cpu_model": _cpu_model(),
        "logical_cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gib": psutil.virtual_memory().total / 1024**3,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load_start": list(os.getloadavg()),
    }


def run_bench(name: str, args: list[str], out: Path) -> tuple[dict[str, Any] | None, float]:
    script = BENCHES[name][0]
    figures = out / f"{name}.json"
    figures.unlink(missing_ok=True)  # never report a previous run's figures
    command = [sys.executable, str(HERE / script), *args, "--out", str(out)]
    print(f"\n=== {name}: {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    done = subprocess.run(command)
    seconds = time.monotonic() - started
    if done.returncode != 0 or not figures.exists():
        return None, seconds
    return json.loads(figures.read_text()), seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small sizes (minutes, not the reference figures)"
    )
    parser.add_argument(
        "--out", type=Path, help="default: bench/results, or bench/results/quick with --quick"
    )
    parser.add_argument("--only", nargs="+", choices=list(BENCHES), help="run these benches only")
    args = parser.parse_args()
    out = args.out or (RESULTS / "quick" if args.quick else RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    command = "uv run --frozen python bench/run_all.py" + (" --quick" if args.quick else "")
    machine = machine_facts()
    print(f"load average at start: {machine['load_start']}", flush=True)
    started = time.monotonic()
    benches: dict[str, dict[str, Any] | None] = dict.fromkeys(BENCHES)
    durations: dict[str, float] = {}
    failed = []
    for name, (_, full, quick) in BENCHES.items():
        if args.only and name not in args.only:
            continue
        benches[name], durations[name] = run_bench(name, quick if args.quick else full, out)
        if benches[name] is None:
            failed.append(name)
    machine["load_end"] = list(os.getloadavg())
    machine["total_s"] = time.monotonic() - started
    report = {
        "mode": "quick" if args.quick else "full",
        "command": command,
        "machine": machine,
        "durations": durations,
        "failed": failed,
        "benches": benches,
    }
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "REPORT.md").write_text(render(report))
    draw(report, out / "report.png")
    print(f"\nload average at end: {machine['load_end']}; {machine['total_s'] / 60:.1f} min")
    print(f"wrote {out / 'REPORT.md'} and {out / 'report.png'}")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
