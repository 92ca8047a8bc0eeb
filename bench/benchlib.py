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


def rss_mib(process: psutil.Process, family: list[psutil.Process] | None = None) -> float:
    """Resident memory of a process and its children (``family``, listed here if not given), MiB
    (0 once it is gone)."""
    total = 0
    for one in family if family is not None else [process, *_children(process)]:
        with contextlib.suppress(psutil.Error):  # it exited between listing and reading
            total += one.memory_info().rss
    return total / MIB


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []


class RssSampler:
    """Samples the RSS of named processes in a thread (not the event loop the bench times).

    Listing a process's children reads every process of the machine, so the families are listed
    again only every ``relist_every`` samples, not on each: the sampler must cost the bench
    little, as its CPU is counted with the bench's."""

    def __init__(self, pids: dict[str, int], interval_s: float = 0.25, relist_every: int = 20) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.interval_s = interval_s
        self.relist_every = relist_every
        self._families: dict[str, list[psutil.Process]] = {}
        self._samples = 0
        self._peaks = dict.fromkeys(pids, 0.0)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> dict[str, float]:
        if self._samples % self.relist_every == 0:
            self._families = {name: [p, *_children(p)] for name, p in self.processes.items()}
        self._samples += 1
        return {name: rss_mib(process, self._families[name]) for name, process in self.processes.items()}

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
    from tandem_chassis.testing import delete_topics as delete

    await delete(bootstrap_servers, prefix)


def listening_process(port: int) -> psutil.Process | None:
    """The local process listening on TCP ``port`` (the broker, the store), if this user sees it."""
    with contextlib.suppress(psutil.Error):
        for connection in psutil.net_connections(kind="tcp"):
            listening = connection.status == psutil.CONN_LISTEN and connection.laddr.port == port
            if listening and connection.pid is not None:
                return psutil.Process(connection.pid)
    return None


def infrastructure_processes(kafka: str, mongo: str) -> dict[str, psutil.Process]:
    """The Kafka broker and the store, found by the ports their addresses name."""
    found = {}
    for name, address in (("Kafka broker", kafka), ("store", mongo)):
        port = int(address.rsplit(":", 1)[-1].split("/", 1)[0].split(",", 1)[0])
        process = listening_process(port)
        if process is not None:
            found[name] = process
    return found


def _label(labels: str, name: str) -> str:
    return labels.split(f'{name}="', 1)[1].split('"', 1)[0] if f'{name}="' in labels else ""


def store_commands_of(metrics_text: str, metric: str = "tandem_store_commands_total") -> dict[str, float]:
    """``metric`` (store commands, or with ``tandem_store_command_seconds_total`` the seconds the
    store took to answer them) by "command collection", from a service's ``/metrics``."""
    counts: dict[str, float] = {}
    for line in metrics_text.splitlines():
        if line.startswith(metric + "{"):
            labels, value = line.rsplit(" ", 1)
            key = f"{_label(labels, 'command')} {_label(labels, 'collection')}".strip()
            counts[key] = counts.get(key, 0.0) + float(value)
    return counts


def command_breakdown_table(
    title: str,
    events: int,
    commands: dict[str, dict[str, float]],
    seconds: dict[str, dict[str, float]] | None = None,
) -> list[str]:
    """Where the store commands go: per service, command and collection, per 1,000 events, with
    the seconds the store took to answer them (largest first) when ``seconds`` is given."""
    seconds = seconds or {}
    rows = sorted(
        (
            (service, key, count, seconds.get(service, {}).get(key))
            for service, by_key in commands.items()
            for key, count in by_key.items()
        ),
        key=lambda row: (-(row[3] or 0.0), -row[2]),
    )
    lines = [
        f"#### {title}: store commands by service, command and collection (per 1,000 events)",
        "",
        "| service | command collection | commands / 1,000 events | store answer s / 1,000 events |",
        "|---|---|---:|---:|",
    ]
    lines += [
        f"| {s} | `{k}` | {per_thousand(c, events):,.0f} | "
        + (f"{per_thousand(t, events):.2f}" if t is not None else "—")
        + " |"
        for s, k, c, t in rows
        if c > 0
    ]
    return lines


class CostMeter:
    """CPU seconds of named processes (their own counters: stable on a noisy machine) and store
    commands of named sources over one measured stretch. ``commands`` maps a name to a callable
    returning that source's cumulative command counts (a service's ``/metrics``, a listener).

    A process counts with its children, except children that are named processes themselves
    (the services the bench process started): each process is counted once, under its own name.
    """

    def __init__(self, processes: dict[str, psutil.Process]) -> None:
        self.processes = processes
        self._cpu_start: dict[int, float] = {}
        self.cpu: dict[str, float] = {}

    def _sample(self) -> dict[str, dict[int, float]]:
        """CPU seconds so far of each named process's own family, by pid."""
        families = {name: [p, *_children(p)] for name, p in self.processes.items()}
        pids = {name: {one.pid for one in family} for name, family in families.items()}
        sample: dict[str, dict[int, float]] = {}
        for name, family in families.items():
            nested = {
                pid
                for other, process in self.processes.items()
                if other != name and process.pid in pids[name]
                for pid in pids[other]
            }
            sample[name] = {}
            for one in family:
                if one.pid not in nested:
                    with contextlib.suppress(psutil.Error):
                        times = one.cpu_times()
                        sample[name][one.pid] = times.user + times.system
        return sample

    def __enter__(self) -> CostMeter:
        self._cpu_start = {pid: cpu for by_pid in self._sample().values() for pid, cpu in by_pid.items()}
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu = {
            name: sum(cpu - self._cpu_start.get(pid, 0.0) for pid, cpu in by_pid.items())
            for name, by_pid in self._sample().items()
        }


def per_thousand(value: float, events: int) -> float:
    return value * 1000 / events if events else math.nan


def cost_table(
    title: str, events: int, paths: dict[str, dict[str, Any]], *, harness: str | None = None
) -> list[str]:
    """One markdown table: per 1,000 events, CPU seconds and store commands of each process, by path.

    ``paths`` maps a path's name (the baseline, the services) to ``{"cpu": {process: s},
    "commands": {process: count}}``. ``harness`` names a process that only stands in for the
    world outside (the e2e bench's publisher and SMTP sink): a second total leaves it out.
    """
    lines = [
        f"### {title}: cost per 1,000 events ({events:,} events measured)",
        "",
        "| path | process | CPU s / 1,000 events | store commands / 1,000 events |",
        "|---|---|---:|---:|",
    ]
    for path, cost in paths.items():
        total_cpu = 0.0
        total_commands = 0.0
        for process in sorted(set(cost["cpu"]) | set(cost["commands"])):
            cpu = cost["cpu"].get(process)
            commands = cost["commands"].get(process)
            total_cpu += cpu or 0.0
            total_commands += commands or 0.0
            lines.append(
                f"| {path} | {process} | "
                + (f"{per_thousand(cpu, events):.2f}" if cpu is not None else "—")
                + " | "
                + (f"{per_thousand(commands, events):,.0f}" if commands is not None else "—")
                + " |"
            )
        lines.append(
            f"| {path} | **all processes** | **{per_thousand(total_cpu, events):.2f}** "
            f"| **{per_thousand(total_commands, events):,.0f}** |"
        )
        if harness is not None and harness in cost["cpu"]:
            outside = cost["cpu"][harness]
            lines.append(
                f"| {path} | **all but the {harness}** | **{per_thousand(total_cpu - outside, events):.2f}** "
                f"| **{per_thousand(total_commands, events):,.0f}** |"
            )
    return lines
