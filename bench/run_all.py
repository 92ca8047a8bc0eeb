"""``make bench``: every benchmark in one run, each next to its baseline; tables under bench/results/."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHES = [
    ("bench_round.py", []),
    ("bench_suggest_domain.py", []),
    ("bench_ingest.py", []),
    ("bench_notifications.py", []),
    ("bench_suggest_http.py", []),
]


def main() -> int:
    failed = []
    for script, args in BENCHES:
        print(f"\n=== {script}", flush=True)
        if subprocess.run([sys.executable, str(HERE / script), *args]).returncode != 0:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
