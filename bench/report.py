"""Assemble the benches' figures (their JSON) into ``REPORT.md`` and ``report.png``.

``render`` is a pure function from the collected dict to markdown; ``draw`` writes the chart
with matplotlib's Agg backend. The dict, as ``run_all.py`` builds it::

    {"mode": "full" | "quick", "command": str, "machine": {...}, "durations": {bench: s},
     "failed": [bench, ...], "benches": {bench: figures or None}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchlib import command_breakdown_table, cost_table

__all__ = ["draw", "render"]

SERVICES = ("profiles", "matching", "notifications", "relationships")
DETAIL_FILES = {
    "ingest": "ingest.md",
    "ingest_stored": "ingest_stored.md",
    "e2e": "e2e.md",
    "round": "round.md",
    "suggest_http": "suggest_http.md",
    "suggest_domain": "suggest_domain.md",
    "notifications": "notifications.md",
}


def _ms(value: float | None, wait: float) -> str:
    return f"> {wait:g} s" if value is None else f"{value:,.0f}"


def _ratio(ours: float | None, base: float | None) -> str:
    return "-" if not ours or not base else f"{ours / base:.2f}"


def _missing(name: str, report: dict[str, Any]) -> list[str]:
    why = "failed" if name in report.get("failed", []) else "not run"
    return [f"_{why}: no figures (see the run's output)._", ""]


def _machine(report: dict[str, Any]) -> list[str]:
    m = report["machine"]
    load = " / ".join
    return [
        "## Machine",
        "",
        "| fact | value |",
        "|---|---|",
        f"| date | {m['date']} |",
        f"| git commit | `{m['commit']}`{' (working tree has uncommitted changes)' if m.get('dirty') else ''} |",
        f"| CPU | {m['cpu_model']}, {m['logical_cores']} logical cores ({m['physical_cores']} physical) |",
        f"| memory | {m['memory_gib']:.1f} GiB |",
        f"| Python | {m['python']} on {m['platform']} |",
        f"| load average (1/5/15 min) at start | {load(f'{x:.2f}' for x in m['load_start'])} |",
        f"| load average (1/5/15 min) at end | {load(f'{x:.2f}' for x in m['load_end'])} |",
        f"| whole run | {m['total_s'] / 60:.1f} min |",
        "",
        "Whether the machine was otherwise idle cannot be known from inside the run: the load "
        "averages at start and end (above ~0 on an idle machine, up to the core count when it is "
        "busy) are the evidence.",
        "",
    ]


def _ingest(report: dict[str, Any]) -> list[str]:
    lines = ["## 1. HR-event ingest", ""]
    f = report["benches"].get("ingest")
    if not f:
        return lines + _missing("ingest", report)
    base, ours = f["baseline"], f["service"]
    return [
        *lines,
        f"{f['events']:,} `hr.employee.joined` events pre-loaded on one topic, read from the beginning; "
        "figure: events/s until every profile is stored.",
        "",
        "| consumer | seconds | events/s | ratio to baseline |",
        "|---|---:|---:|---:|",
        f"| baseline: bare aiokafka + `bulk_write` upserts | {base['seconds']:.1f} | {base['events_per_s']:,.0f} | 1.00 |",
        f"| Tandem profiles service (validation, HR merge rules, outbox, `profile.registered`) "
        f"| {ours['seconds']:.1f} | {ours['events_per_s']:,.0f} | {f['ratio']:.2f} |",
        "",
        *([*cost_table("HR-event ingest", f["events"], f["costs"]), ""] if "costs" in f else []),
        *_growth(f, report["benches"].get("ingest_stored")),
    ]


def _cpu_per_thousand(f: dict[str, Any], path: str) -> float:
    return sum(f["costs"][path]["cpu"].values()) * 1000 / f["events"]


def _growth(empty: dict[str, Any], stored: dict[str, Any] | None) -> list[str]:
    """The growth check: CPU per event over an empty store and over one holding many profiles."""
    if not stored or "costs" not in empty:
        return []
    lines = [
        f"### Growth check: the same ingest after {stored['stored']:,} profiles are stored",
        "",
        "Target: CPU per event with the large store within 25% of the empty one (all processes).",
        "",
        "| path | CPU s / 1,000 events, empty | with the store full | change | events/s, full |",
        "|---|---:|---:|---:|---:|",
    ]
    for path in stored["costs"]:
        if path not in empty["costs"]:
            continue
        before, after = _cpu_per_thousand(empty, path), _cpu_per_thousand(stored, path)
        rate = stored["baseline" if path.startswith("baseline") else "service"]["events_per_s"]
        lines.append(f"| {path} | {before:.2f} | {after:.2f} | {after / before - 1:+.0%} | {rate:,.0f} |")
    return [*lines, ""]


def _e2e(report: dict[str, Any]) -> list[str]:
    lines = ["## 2. End to end: `hr.employee.joined` → welcome email", ""]
    f = report["benches"].get("e2e")
    if not f:
        return lines + _missing("e2e", report)
    wait = f["wait_s"]
    lines += [
        f"The four services as separate processes, notifications sending to a real SMTP sink; joined "
        f"events (each a new employee with a unique email) published at a fixed rate for {f['seconds']:g} s; "
        f"latency from publish to the SMTP receipt of that address's welcome email. Each joined employee "
        f"also gets a complete-your-profile email, so the sink receives {f['emails_per_event']} emails per "
        f"event. An email not received within {wait:g} s after the last publish counts as later than that "
        "(it stays in the percentiles). Baseline: the same records at the same rate through a bare "
        "aiokafka producer → consumer (the Kafka round trip), measured just before.",
        "",
        "| rate/s | Kafka p50 ms | Kafka p99 ms | pipeline p50 ms | pipeline p99 ms | p50 ratio | "
        "welcome emails arrived | sustained welcome emails/s | behind |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    verdicts = []
    for one in f["rates"]:
        k, p = one["kafka"], one["pipeline"]
        lines.append(
            f"| {one['rate']:g} | {_ms(k['p50_ms'], wait)} | {_ms(k['p99_ms'], wait)} "
            f"| {_ms(p['p50_ms'], wait)} | {_ms(p['p99_ms'], wait)} | {_ratio(p['p50_ms'], k['p50_ms'])} "
            f"| {p['delivered']:,} of {p['sent']:,} | {p['delivered_per_s']:.1f} | {'**yes**' if p['behind'] else 'no'} |"
        )
        verdicts.append(_verdict(one["rate"], p, wait))
    lines += ["", *verdicts, "", *_stages(f)]
    lines += [
        "Resident memory (psutil RSS, with children) of each service process, MiB: idle after "
        "start-up → peak during the load.",
        "",
        "| rate/s | " + " | ".join(SERVICES) + " |",
        "|---:|" + "---:|" * len(SERVICES),
    ]
    for one in f["rates"]:
        memory = one["pipeline"]["memory_mib"]
        cells = [
            f"{memory[s]['idle']:.0f} → {memory[s]['peak']:.0f}" if s in memory else "—" for s in SERVICES
        ]
        lines.append(f"| {one['rate']:g} | " + " | ".join(cells) + " |")
    for one in f["rates"]:
        if "cost" in one["pipeline"]:
            paths = {"services → welcome email": one["pipeline"]["cost"]}
            if "cost" in one["kafka"]:
                paths = {"Kafka round trip (baseline)": one["kafka"]["cost"], **paths}
            lines += [
                "",
                *cost_table(
                    f"{one['rate']:g} joined/s", one["pipeline"]["sent"], paths, harness="bench process"
                ),
            ]
        if "commands_by_collection" in one["pipeline"]:
            lines += [
                "",
                *command_breakdown_table(
                    f"{one['rate']:g} joined/s",
                    one["pipeline"]["sent"],
                    one["pipeline"]["commands_by_collection"],
                    one["pipeline"].get("store_seconds_by_collection"),
                ),
            ]
    return [*lines, ""]


def _latency(value: float | None, wait: float) -> str:
    return f"later than {wait:g} s" if value is None else f"{value:,.0f} ms"


def _verdict(rate: float, p: dict[str, Any], wait: float) -> str:
    achieved = f"publisher achieved {p['achieved_rate']:.1f}/s"
    trend = (
        f"median latency {_latency(p['first_fifth_p50_ms'], wait)} in the first fifth of the events, "
        f"{_latency(p['last_fifth_p50_ms'], wait)} in the last"
    )
    if p["delivered"] < p["sent"]:
        return (
            f"- **{rate:g}/s: the pipeline falls behind.** Only {p['delivered']:,} of {p['sent']:,} welcome "
            f"emails arrived within {wait:g} s after the last publish; it sustained "
            f"{p['delivered_per_s']:.1f} welcome emails/s ({achieved}; {trend})."
        )
    if p["behind"]:
        return (
            f"- **{rate:g}/s: the pipeline falls behind** (a queue builds up): every welcome email "
            f"arrived, but {trend}; sustained {p['delivered_per_s']:.1f} welcome emails/s ({achieved})."
        )
    return (
        f"- {rate:g}/s: the pipeline keeps up: every welcome email arrived, {trend}; "
        f"sustained {p['delivered_per_s']:.1f}/s ({achieved})."
    )


def _stages(f: dict[str, Any]) -> list[str]:
    """Where the timed events were when the wait ended, and the start-up and warm-up times."""
    names = list(f["rates"][0]["pipeline"]["stages"])
    lines = [
        "Where the timed events were when the wait ended (a backlog sits before the first stage "
        "that has fewer than were sent), and the set-up before the timed events:",
        "",
        "| rate/s | sent | "
        + " | ".join(names)
        + " | welcome emails | service start-up s | warm-up email s |",
        "|---:|---:|" + "---:|" * (len(names) + 3),
    ]
    for one in f["rates"]:
        p = one["pipeline"]
        counts = " | ".join(f"{p['stages'][n]:,}" for n in names)
        lines.append(
            f"| {one['rate']:g} | {p['sent']:,} | {counts} | {p['delivered']:,} | {p['startup_s']:.1f} "
            f"| {p['warmup_s']:.1f} |"
        )
    return [*lines, ""]


def _round(report: dict[str, Any]) -> list[str]:
    lines = ["## 3. Program round vs greedy", ""]
    f = report["benches"].get("round")
    if not f:
        return lines + _missing("round", report)
    large, ref = f["large"], f["reference"]
    greedy = large["greedy"]
    lines += [
        f"{large['mentees']:,} mentees x {large['mentors']:,} mentors (capacity {large['capacity']}); "
        f"seconds are scoring + solve (top-{large['top_k']} candidate lists for the flow, top-100 for greedy). "
        "Baseline: greedy best-pair-first.",
        "",
        "| solver | seconds | total score | matched | mean score | seconds ratio to greedy | score ratio to greedy |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, name in (
        ("flow_score", "min-cost flow (score), certified optimal"),
        ("flow_participation", "min-cost flow (participation)"),
        ("greedy", "baseline: greedy"),
    ):
        r = large[key]
        lines.append(
            f"| {name} | {r['seconds']:.2f} | {r['total_score']:,.1f} | {r['matched']:,} | {r['mean_score']:.4f} "
            f"| {r['seconds'] / greedy['seconds']:.2f} | {r['total_score'] / greedy['total_score']:.3f} |"
        )
    exact = all(
        ref.get(f"{w}_equals_exact_{o}") for w in ("topk", "dense") for o in ("score", "participation")
    )
    lines += [
        "",
        f"Reference {ref['mentees']:,} x {ref['mentors']:,} (capacity {ref['capacity']}): top-K flow and dense "
        f"flow {'equal' if exact else '**differ from**'} the exact dense optimum (`linear_sum_assignment`), "
        f"which took {ref['exact_score']['seconds']:.2f} s vs {ref['flow_score']['seconds']:.2f} s for the flow.",
        "",
    ]
    return lines


def _startups(f: dict[str, Any]) -> list[str]:
    """Matching's start-ups: on an empty database (the baseline), cold, and the restart."""
    memory = f["memory_mib"]
    if "empty_startup_s" not in f:  # an older run: one start-up only
        return [f"Service start-up (reads the projection, builds the index) **{f['startup_s']:.1f} s**.", ""]
    cpu = f.get("startup_cpu_s", {})

    def row(name: str, seconds: float, key: str, peak: str) -> str:
        return f"| {name} | {seconds:.1f} | {cpu.get(key, float('nan')):.1f} | {memory[peak]:.0f} |"

    return [
        "| matching start-up, until ready | s | CPU s of the service | peak resident MiB |",
        "|---|---:|---:|---:|",
        row(
            "baseline: the same process on an empty database",
            f["empty_startup_s"],
            "empty",
            "empty_startup_peak",
        ),
        row(
            "first start, no pool snapshot: reads the whole projection",
            f["cold_startup_s"],
            "cold",
            "cold_startup_peak",
        ),
        row(
            "**restart: the pool snapshot, then the changes after it**",
            f["startup_s"],
            "restart",
            "startup_peak",
        ),
        "",
    ]


def _suggest(report: dict[str, Any]) -> list[str]:
    lines = ["## 4. Suggestion latency", ""]
    f = report["benches"].get("suggest_http")
    if not f:
        lines += _missing("suggest_http", report)
    else:
        load = f"{f['load_s']:.1f} s" if f.get("load_s") else "reused"
        memory = f["memory_mib"]
        http, domain = f["http"], f["domain"]
        lines += [
            f"Top-5 for one mentee over {f['mentors']:,} mentors, {f['queries']} sequential queries. "
            f"Set-up: bulk load of the projection into the store **{load}**; the same index built in-process "
            f"{f['index_build_s']:.1f} s. Baseline: the domain's `suggest` on the same queries in the bench process.",
            "",
            *_startups(f),
            "| path | p50 ms | p99 ms | max ms | p50 ratio to domain | CPU ms per query |",
            "|---|---:|---:|---:|---:|---:|",
            f"| HTTP `GET /v1/mentees/{{id}}/suggestions` (service process) | {http['p50_ms']:.2f} "
            f"| {http['p99_ms']:.2f} | {http['max_ms']:.2f} | {http['p50_ms'] / domain['p50_ms']:.2f} "
            f"| {http.get('cpu_ms_per_query', float('nan')):.2f} |",
            f"| baseline: domain `suggest(index, mentee, demand=…)` | {domain['p50_ms']:.2f} "
            f"| {domain['p99_ms']:.2f} | {domain['max_ms']:.2f} | 1.00 "
            f"| {domain.get('cpu_ms_per_query', float('nan')):.2f} |",
            "",
            f"Matching service ({f['service_process']}), resident memory: peak during start-up "
            f"{memory['startup_peak']:.0f} MiB, at ready {memory['ready']:.0f} MiB, peak during the queries "
            f"{memory['queries_peak']:.0f} MiB.",
            "",
        ]
    d = report["benches"].get("suggest_domain")
    if d:
        lines += [
            f"Domain only (`bench_suggest_domain.py`), {d['mentors']:,} mentors, {d['queries']} queries, "
            f"index build {d['index_build_s']:.2f} s:",
            "",
            "| variant | p50 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|",
            *(
                f"| {v['name']} | {v['p50_ms']:.2f} | {v['p99_ms']:.2f} | {v['max_ms']:.2f} |"
                for v in d["variants"]
            ),
            "",
        ]
    return lines


def _notifications(report: dict[str, Any]) -> list[str]:
    f = report["benches"].get("notifications")
    lines = [
        "## Supplementary: the notifications service alone (in-process, `mentorship.proposed` → SMTP)",
        "",
    ]
    if not f:
        return lines + _missing("notifications", report)
    return [
        *lines,
        "No baseline of its own (the Kafka round trip of section 2 is the floor).",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| burst of {f['burst']:,} events: delivered emails/s | {f['burst_emails_per_s']:.1f} |",
        f"| steady {f['rate']:g}/s for {f['seconds']:g} s (achieved {f['achieved_rate']:.1f}/s): p50 ms | {f['p50_ms']:,.0f} |",
        f"| same: p99 ms | {f['p99_ms']:,.0f} |",
        "",
    ]


def _runs(report: dict[str, Any]) -> list[str]:
    lines = ["## Bench runs", "", "| bench | minutes | status | detail |", "|---|---:|---|---|"]
    for name, seconds in report["durations"].items():
        status = "failed" if name in report.get("failed", []) else "ok"
        detail = DETAIL_FILES.get(name, "")
        lines.append(f"| {name} | {seconds / 60:.1f} | {status} | [{detail}]({detail}) |")
    return [*lines, ""]


def render(report: dict[str, Any]) -> str:
    """The whole ``REPORT.md`` from the collected figures."""
    quick = report["mode"] == "quick"
    intro = [
        "# Tandem benchmark report",
        "",
        f"`{report['command']}` — **{report['mode']} mode**"
        + (" (small sizes to check the benches run; not the reference figures)." if quick else "."),
        "Every figure stands beside its baseline measured in the same run.",
        "",
        "![charts](report.png)",
        "",
    ]
    sections = [
        intro,
        _machine(report),
        _ingest(report),
        _e2e(report),
        _round(report),
        _suggest(report),
        _notifications(report),
        _runs(report),
    ]
    return "\n".join(line for section in sections for line in section).rstrip("\n") + "\n"


def draw(report: dict[str, Any], path: Path) -> None:
    """Six panels: ingest, e2e latency, round, suggestions, memory, e2e throughput."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    benches = report["benches"]
    fig, axes = plt.subplots(2, 3, figsize=(17, 10))
    fig.suptitle(
        f"Tandem benchmarks ({report['mode']} mode, {report['machine']['date']}, "
        f"commit {report['machine']['commit'][:10]}, {report['machine']['logical_cores']} cores)",
        fontsize=13,
    )
    for axis, painter, key in (
        (axes[0][0], _panel_ingest, "ingest"),
        (axes[0][1], _panel_e2e, "e2e"),
        (axes[0][2], _panel_round, "round"),
        (axes[1][0], _panel_suggest, "suggest_http"),
        (axes[1][1], _panel_memory, "e2e"),
        (axes[1][2], _panel_throughput, "e2e"),
    ):
        if benches.get(key):
            painter(axis, benches)
        else:
            axis.set_axis_off()
            axis.text(0.5, 0.5, f"{key}: no figures", ha="center", va="center")
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _bars(
    axis: Any,
    labels: list[str],
    series: dict[str, list[float]],
    fmt: str = "{:,.0f}",
    texts: dict[str, list[str]] | None = None,
) -> None:
    """Grouped bars, each labelled with its value (or with ``texts[series][i]`` when given)."""
    width = 0.8 / len(series)
    for i, (name, values) in enumerate(series.items()):
        xs = [x + (i - (len(series) - 1) / 2) * width for x in range(len(labels))]
        bars = axis.bar(xs, values, width, label=name)
        shown = (texts or {}).get(name) or [fmt.format(v) if v else "" for v in values]
        axis.bar_label(bars, labels=shown, fontsize=8)
    axis.set_xticks(range(len(labels)), labels)
    axis.legend(fontsize=8)


def _panel_ingest(axis: Any, benches: dict[str, Any]) -> None:
    f = benches["ingest"]
    _bars(
        axis,
        ["events/s"],
        {
            "baseline: aiokafka + bulk_write": [f["baseline"]["events_per_s"]],
            "profiles service": [f["service"]["events_per_s"]],
        },
    )
    axis.set_title(f"1. HR-event ingest, {f['events']:,} events (ratio {f['ratio']:.2f})")


def _panel_e2e(axis: Any, benches: dict[str, Any]) -> None:
    f = benches["e2e"]
    wait_ms = f["wait_s"] * 1000
    names = ("Kafka p50", "Kafka p99", "pipeline p50", "pipeline p99")
    labels: list[str] = []
    series: dict[str, list[float]] = {name: [] for name in names}
    texts: dict[str, list[str]] = {name: [] for name in names}
    for one in f["rates"]:
        labels.append(f"{one['rate']:g}/s")
        for path, key in (("kafka", "Kafka"), ("pipeline", "pipeline")):
            for q in ("p50", "p99"):
                value = one[path][f"{q}_ms"]
                series[f"{key} {q}"].append(wait_ms if value is None else value)
                texts[f"{key} {q}"].append(f"> {f['wait_s']:g} s" if value is None else f"{value:,.0f}")
    _bars(axis, labels, series, texts=texts)
    axis.set_yscale("log")
    axis.set_ylabel("ms (log); later than the wait drawn at the wait")
    axis.set_title("2. joined → welcome email latency vs Kafka round trip")


def _panel_round(axis: Any, benches: dict[str, Any]) -> None:
    large = benches["round"]["large"]
    greedy = large["greedy"]
    flow = large["flow_score"]
    _bars(
        axis,
        ["seconds", "total score", "matched"],
        {
            "greedy (= 1.0)": [1.0, 1.0, 1.0],
            "min-cost flow": [
                flow["seconds"] / greedy["seconds"],
                flow["total_score"] / greedy["total_score"],
                flow["matched"] / greedy["matched"],
            ],
        },
        fmt="{:.3f}",
    )
    axis.set_ylabel("ratio to greedy")
    axis.set_title(
        f"3. round {large['mentees']:,} x {large['mentors']:,}: flow {flow['seconds']:.1f} s vs greedy {greedy['seconds']:.1f} s"
    )


def _panel_suggest(axis: Any, benches: dict[str, Any]) -> None:
    f = benches["suggest_http"]
    _bars(
        axis,
        ["p50", "p99"],
        {
            "domain (baseline)": [f["domain"]["p50_ms"], f["domain"]["p99_ms"]],
            "HTTP service": [f["http"]["p50_ms"], f["http"]["p99_ms"]],
        },
        fmt="{:.1f}",
    )
    axis.set_ylabel("ms")
    load = f"load {f['load_s']:.0f} s, " if f.get("load_s") else ""
    axis.set_title(f"4. suggestions over {f['mentors']:,} mentors ({load}start-up {f['startup_s']:.0f} s)")


def _panel_memory(axis: Any, benches: dict[str, Any]) -> None:
    f = benches["e2e"]
    measured = [s for s in SERVICES if s in f["rates"][0]["pipeline"]["memory_mib"]]  # older runs: 3
    labels = list(measured)
    series: dict[str, list[float]] = {}
    for one in f["rates"]:
        memory = one["pipeline"]["memory_mib"]
        series.setdefault("idle (first rate)", [memory[s]["idle"] for s in measured])
        series[f"peak at {one['rate']:g}/s"] = [memory[s]["peak"] for s in measured]
    suggest = benches.get("suggest_http")
    if suggest:
        labels.append(f"matching,\n{suggest['mentors']:,} mentors")
        for name in series:
            series[name].append(0.0)
        series["matching, suggestion bench peak"] = [0.0] * len(measured) + [
            max(suggest["memory_mib"]["startup_peak"], suggest["memory_mib"]["queries_peak"])
        ]
    _bars(axis, labels, series)
    axis.set_ylabel("RSS MiB")
    axis.set_title("memory per service process (peak RSS)")


def _panel_throughput(axis: Any, benches: dict[str, Any]) -> None:
    f = benches["e2e"]
    labels = [f"{one['rate']:g}/s" for one in f["rates"]]
    _bars(
        axis,
        labels,
        {
            "offered (achieved publish rate)": [one["pipeline"]["achieved_rate"] for one in f["rates"]],
            "Kafka consumer received/s": [one["kafka"]["delivered_per_s"] for one in f["rates"]],
            "welcome emails/s sustained": [one["pipeline"]["delivered_per_s"] for one in f["rates"]],
        },
        fmt="{:.1f}",
    )
    axis.set_ylabel("events/s")
    axis.set_title("2b. does the pipeline keep up?")
