"""What every bench script shares: where results go, writing them, peak-RSS sampling, percentiles.

Each script writes ``<name>.md`` (its tables, as before) and ``<name>.json`` (its figures, which
``run_all.py`` assembles into ``REPORT.md`` and ``report.png``) into ``--out`` (default
``bench/results``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

RESULTS = Path(__file__).resolve().parent / "results"
MIB = 1024 * 1024


def add_out_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for <bench>.md and <bench>.json")


def write_results(out: Path, name: str, markdown: str, figures: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.md").write_text(markdown.rstrip("\n") + "\n")
    (out / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")


def stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def nearest_rank(values: Sequence[float], q: float) -> float:
    """The q-th percentile by nearest rank (an observed value; ``inf`` stays ``inf``)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def rss_mib(process: psutil.Process) -> float:
    """Resident memory of a process and its children, MiB (0 once it is gone)."""
    total = 0
    for one in [process, *_children(process)]:
        with contextlib.suppress(psutil.Error):  # it exited between listing and reading
            total += one.memory_info().rss
    return total / MIB


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []


class RssSampler:
    """Samples the RSS of named processes in a thread (not the event loop the bench times)."""

    def __init__(self, pids: dict[str, int], interval_s: float = 0.25) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.interval_s = interval_s
        self._peaks = dict.fromkeys(pids, 0.0)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> dict[str, float]:
        return {name: rss_mib(process) for name, process in self.processes.items()}

    def peaks(self) -> dict[str, float]:
        self._sample()
        with self._lock:
            return dict(self._peaks)

    def reset(self) -> None:
        with self._lock:
            self._peaks = dict.fromkeys(self._peaks, 0.0)

    def _sample(self) -> None:
        current = self.now()
        with self._lock:
            for name, mib in current.items():
                self._peaks[name] = max(self._peaks[name], mib)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> RssSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def delete_topics(bootstrap_servers: str, prefix: str) -> None:
    """Delete every topic of one bench run (its names all start with the run's prefix)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        names = [name for name in await admin.list_topics() if name.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()
