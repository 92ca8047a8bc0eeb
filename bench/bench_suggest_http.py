"""Suggestion latency over HTTP (real app in a uvicorn process) against 100,000 mentors.

    uv run --frozen python bench/bench_suggest_http.py [--mentors N] [--queries N] [--out bench/results]

Needs Kafka and MongoDB (``TANDEM_KAFKA_BOOTSTRAP_SERVERS`` / ``TANDEM_MONGODB_URI``, default
the local stack). The mentors are bulk-inserted into the matching service's projection, the
service is started as ``python -m tandem_matching`` on a free port, and sequential
``GET /v1/mentees/{id}/suggestions?limit=5`` requests are timed end to end. The same query set
is then run against the domain's ``suggest`` in this process for comparison. The service
process's resident memory (psutil, with any children) is sampled during start-up and the queries.

The service starts three times: on an empty database (the baseline: imports, Kafka, the store,
HTTP), then on the loaded one with no pool snapshot stored (it reads the whole projection,
then its poller stores the snapshot), then again, as a restart or a new replica does, from the
snapshot. The queries run against the restarted process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import numpy as np
import psutil
from pymongo import AsyncMongoClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_round import make_people
from benchlib import RssSampler, add_out_argument, stamp, write_results
from tandem_chassis.auth import mint_dev_token
from tandem_chassis.testing import free_port
from tandem_matching.domain.index import MentorIndex
from tandem_matching.domain.model import Person, Weights
from tandem_matching.domain.suggestions import suggest

SECRET = "bench-secret-for-dev-mode-only-0123456789"


def projection_document(person: Person, seq: int) -> dict[str, object]:
    """A profile snapshot as the matching projection stores it."""
    return {
        "_id": person.employee_id,
        "employee_id": person.employee_id,
        "version": 1,
        "seq": seq,
        "status": "active" if person.active else "inactive",
        "roles": sorted(person.roles),
        "department": person.department,
        "level": person.level,
        "manager_id": person.manager_id,
        "location": person.location,
        "timezone": person.timezone,
        "languages": list(person.languages),
        "skills": [{"name": s.name, "level": s.level} for s in person.skills],
        "goals": [{"name": s.name, "level": s.level} for s in person.goals],
        "interests": list(person.interests),
        "mentor_capacity": person.mentor_capacity,
        "preferences": {"department": person.department_preference},
    }


def start_service(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Path]:
    """``python -m tandem_matching`` as production runs it; output goes to a log file."""
    fd, name = tempfile.mkstemp(prefix="bench-matching-", suffix=".log")
    with os.fdopen(fd, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tandem_matching"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return process, Path(name)


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def percentiles(times_ms: list[float]) -> tuple[float, float, float]:
    p50, p99 = np.percentile(times_ms, [50, 99])
    return float(p50), float(p99), max(times_ms)


async def load_projection(uri: str, database: str, people: list[Person]) -> float:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(uri)
    started = time.perf_counter()
    try:
        profiles = client[database]["profiles"]
        batch = 5_000
        for start in range(0, len(people), batch):
            chunk = people[start : start + batch]
            await profiles.insert_many(
                [projection_document(p, start + i + 1) for i, p in enumerate(chunk)], ordered=False
            )
        await client[database]["counters"].insert_one({"_id": "profiles", "value": len(people)})
    finally:
        await client.close()
    return time.perf_counter() - started


async def drop(uri: str, database: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(uri)
    try:
        await client.drop_database(database)
    finally:
        await client.close()


async def wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> float:
    started = time.perf_counter()
    async with httpx.AsyncClient() as client:
        while time.perf_counter() - started < timeout_s:
            if process.poll() is not None:
                raise RuntimeError("the matching service exited during start-up")
            try:
                if (await client.get(f"{url}/health/ready", timeout=5)).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise TimeoutError("the matching service did not become ready")


async def snapshot_stored(uri: str, database: str, timeout_s: float) -> float:
    """Seconds until the matching service has stored its pool snapshot."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(uri)
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < timeout_s:
            if await client[database]["pool_snapshot"].find_one({"_id": "pool"}, {"seq": 1}):
                return time.perf_counter() - started
            await asyncio.sleep(0.5)
    finally:
        await client.close()
    raise TimeoutError("the matching service stored no pool snapshot")


async def forget_snapshot(uri: str, database: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(uri)
    try:
        await client[database].drop_collection("pool_snapshot")
    finally:
        await client.close()


def cpu_s(process: subprocess.Popen[bytes]) -> float:
    """CPU seconds the process has used so far (user and system): a figure noise barely moves."""
    times = psutil.Process(process.pid).cpu_times()
    return float(times.user + times.system)


@dataclass
class Start:
    """A started service process: seconds and CPU seconds until ready, peak memory until then."""

    process: subprocess.Popen[bytes]
    sampler: RssSampler
    seconds: float
    cpu_s: float
    peak_mib: float


@contextlib.asynccontextmanager
async def started(env: dict[str, str], url: str, timeout_s: float) -> AsyncIterator[Start]:
    """``python -m tandem_matching``, ready, sampled for memory; stopped on leaving."""
    process, log = start_service(env)
    try:
        with RssSampler({"matching": process.pid}) as sampler:
            seconds = await wait_ready(url, process, timeout_s)
            yield Start(process, sampler, seconds, cpu_s(process), sampler.peaks()["matching"])
    except Exception:
        print(tail(log), file=sys.stderr)
        raise
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()


async def time_http(url: str, mentee_ids: list[str]) -> list[float]:
    headers = {"Authorization": f"Bearer {mint_dev_token(SECRET, sub='bench', roles=['program_admin'])}"}
    times: list[float] = []
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        for mentee_id in mentee_ids[:10]:  # warm-up
            (await client.get(f"/v1/mentees/{mentee_id}/suggestions?limit=5")).raise_for_status()
        for mentee_id in mentee_ids:
            t0 = time.perf_counter()
            response = await client.get(f"/v1/mentees/{mentee_id}/suggestions?limit=5")
            times.append((time.perf_counter() - t0) * 1000)
            response.raise_for_status()
            assert len(response.json()["suggestions"]) <= 5
    return times


def time_domain(mentors: list[Person], mentees: list[Person]) -> tuple[float, list[float], float]:
    """The index build's seconds, each query's milliseconds, and the queries' CPU seconds."""
    t0 = time.perf_counter()
    index = MentorIndex(sorted((m for m in mentors if m.active), key=lambda p: p.employee_id))
    build = time.perf_counter() - t0
    demand = np.zeros(len(index), dtype=np.int64)
    suggest(index, mentees[0], Weights(), demand=demand)
    times = []
    cpu = time.process_time()
    for mentee in mentees:
        t0 = time.perf_counter()
        suggest(index, mentee, Weights(), limit=5, demand=demand)
        times.append((time.perf_counter() - t0) * 1000)
    return build, times, time.process_time() - cpu


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mentors", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--ready-timeout", type=float, default=1800, help="seconds for start-up")
    parser.add_argument("--database", help="reuse this already loaded projection database (kept afterwards)")
    parser.add_argument("--keep", action="store_true", help="keep the loaded database")
    add_out_argument(parser)
    args = parser.parse_args()

    kafka = os.environ.get("TANDEM_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    mongo = os.environ.get("TANDEM_MONGODB_URI", "mongodb://127.0.0.1:27017")
    run = f"bench{uuid.uuid4().hex[:8]}"
    database = args.database or f"tandem_matching_{run}"

    rng = np.random.default_rng(args.seed)
    mentors = make_people(rng, args.mentors, "mentor", prefix="m", capacity=3)
    mentees = make_people(rng, args.queries, "mentee", prefix="e")
    mentees = [replace(p, active=True) for p in mentees]
    loaded = 0.0 if args.database else await load_projection(mongo, database, mentors + mentees)

    port = free_port()
    env = os.environ | {
        "TANDEM_KAFKA_BOOTSTRAP_SERVERS": kafka,
        "TANDEM_MONGODB_URI": mongo,
        "TANDEM_MONGODB_DATABASE": database,
        "TANDEM_KAFKA_TOPIC_PREFIX": f"{run}.",
        "TANDEM_KAFKA_GROUP_PREFIX": f"{run}.",
        "TANDEM_KAFKA_TOPIC_PARTITIONS": "1",
        "TANDEM_HTTP_PORT": str(port),
        "TANDEM_ENV": "dev",
        "TANDEM_JWT_SECRET": SECRET,
        "TANDEM_LOG_LEVEL": "WARNING",
    }
    await forget_snapshot(mongo, database)  # a reused database: the first start is a cold one
    url = f"http://127.0.0.1:{port}"
    memory: dict[str, float] = {}
    cpu: dict[str, float] = {}  # the service process's CPU seconds during the queries
    try:
        # the baseline: the same process on an empty database (imports, Kafka, store, HTTP)
        async with started(
            {**env, "TANDEM_MONGODB_DATABASE": f"{database}_empty"}, url, args.ready_timeout
        ) as empty:
            pass
        await drop(mongo, f"{database}_empty")
        async with started(env, url, args.ready_timeout) as cold:
            stored = await snapshot_stored(mongo, database, args.ready_timeout)
        async with started(env, url, args.ready_timeout) as restart:
            memory["ready"] = restart.sampler.now()["matching"]
            restart.sampler.reset()
            http_times = await time_http(url, [m.employee_id for m in mentees])
            cpu["queries"] = cpu_s(restart.process) - restart.cpu_s
            memory["queries_peak"] = restart.sampler.peaks()["matching"]
        memory |= {"empty_startup_peak": empty.peak_mib, "cold_startup_peak": cold.peak_mib}
        memory["startup_peak"] = restart.peak_mib
        cpu |= {"empty": empty.cpu_s, "cold": cold.cpu_s, "restart": restart.cpu_s}
    finally:
        if not (args.keep or args.database):
            await drop(mongo, database)
    build, domain_times, domain_cpu = time_domain(mentors, mentees)

    command = f"uv run --frozen python bench/bench_suggest_http.py --mentors {args.mentors} --queries {args.queries}"
    load = f"projection bulk load {loaded:.1f} s" if loaded else f"projection reused from {database}"
    lines = [
        f"# Suggestion latency over HTTP (`{command}`, {stamp()})\n",
        f"### suggestions, top-5 over {args.mentors:,} mentors ({args.queries} sequential queries)\n",
        f"{load}; in-process index build {build:.1f} s\n",
        "| matching service start-up (until ready) | s | CPU s | peak resident MiB |\n|---|---|---|---|",
        f"| baseline: the same process on an empty database | {empty.seconds:.1f} | {cpu['empty']:.1f} "
        f"| {memory['empty_startup_peak']:.0f} |",
        f"| first start: no snapshot, reads the whole projection | {cold.seconds:.1f} | {cpu['cold']:.1f} "
        f"| {memory['cold_startup_peak']:.0f} |",
        f"| restart: the pool snapshot (stored {stored:.1f} s after the first start was ready), "
        f"then the changes after it | {restart.seconds:.1f} | {cpu['restart']:.1f} | {memory['startup_peak']:.0f} |\n",
        f"restarted process resident memory: at ready {memory['ready']:.0f} MiB, peak during the queries "
        f"{memory['queries_peak']:.0f} MiB\n",
        "| path | p50 ms | p99 ms | max ms | CPU ms per query |\n|---|---|---|---|---|",
    ]
    paths = {}
    for key, name, times, cpu_total in (
        ("http", "HTTP: GET /v1/mentees/{id}/suggestions (uvicorn process)", http_times, cpu["queries"]),
        ("domain", "domain only: suggest(index, mentee, demand=...)", domain_times, domain_cpu),
    ):
        p50, p99, worst = percentiles(times)
        per_query = cpu_total / len(times) * 1000
        paths[key] = {"p50_ms": p50, "p99_ms": p99, "max_ms": worst, "cpu_ms_per_query": per_query}
        lines.append(f"| {name} | {p50:.2f} | {p99:.2f} | {worst:.2f} | {per_query:.2f} |")
    print("\n" + "\n".join(lines[1:]))
    figures = {
        "mentors": args.mentors,
        "queries": args.queries,
        "load_s": loaded or None,
        "startup_s": restart.seconds,
        "cold_startup_s": cold.seconds,
        "empty_startup_s": empty.seconds,
        "startup_cpu_s": cpu,
        "snapshot_stored_after_s": stored,
        "index_build_s": build,
        "memory_mib": memory,
        "service_process": "separate process: python -m tandem_matching",
        **paths,
    }
    write_results(args.out, "suggest_http", "\n".join(lines), figures)


if __name__ == "__main__":
    asyncio.run(main())
