"""Rich renderings of what the commands found."""

from collections import Counter
from typing import Any

from rich.table import Table
from tandem_contracts import topics

from tandem_cli.dlq import DeadLetter, ReplaySummary
from tandem_cli.status import KafkaReport, ServiceHealth

__all__ = [
    "bar",
    "dead_letters_table",
    "health_table",
    "inbox_table",
    "kafka_tables",
    "replay_table",
    "round_tables",
    "suggestions_table",
]


def bar(fraction: float, width: int = 20) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def health_table(services: list[ServiceHealth]) -> Table:
    table = Table(title="Services")
    for column in ("service", "url", "status", "checks"):
        table.add_column(column)
    for s in services:
        colour = "green" if s.ok else "red"
        checks = ", ".join(f"{name} {'✓' if ok else '✗'}" for name, ok in s.checks.items())
        table.add_row(s.name, s.url, f"[{colour}]{s.status}[/]", checks or (s.error or ""))
    return table


def kafka_tables(report: KafkaReport, *, topic_prefix: str = "") -> tuple[Table, Table]:
    lag = Table(title="Consumer lag")
    for column in ("group", "topic", "lag"):
        lag.add_column(column, justify="right" if column == "lag" else "left")
    for group, per_topic in report.lag.items():
        if not per_topic:
            lag.add_row(group, "[dim](no committed offsets)[/]", "")
        for topic, behind in per_topic.items():
            lag.add_row(group, topic, f"[{'yellow' if behind else 'green'}]{behind}[/]")
    dead = Table(title="Dead letters")
    dead.add_column("topic")
    dead.add_column("records", justify="right")
    ours = {topics.dlq(f"{topic_prefix}{name}") for name in topics.ALL_TOPICS}
    quiet = 0
    for topic, count in report.dead_letters.items():
        if count == 0 and topic not in ours:
            quiet += 1  # other tenants' or tests' empty dead-letter topics: one line for all
            continue
        dead.add_row(topic, f"[{'red' if count else 'green'}]{count}[/]")
    if quiet:
        dead.add_row(f"[dim]{quiet} other .dlq topic(s)[/]", "[green]0[/]")
    return lag, dead


def dead_letters_table(topic: str, total: int, letters: list[DeadLetter]) -> Table:
    table = Table(title=f"{topic}: {len(letters)} of {total} dead letter(s)")
    for column in ("partition/offset", "key", "original", "error", "failed at"):
        table.add_column(column, overflow="fold")
    for letter in letters:
        original = "/".join(
            letter.header(name, "?")
            for name in ("dlq-original-topic", "dlq-original-partition", "dlq-original-offset")
        )
        reason = letter.header("dlq-error-message")[:300]
        error = f"[bold]{letter.header('dlq-error-type')}[/]: {reason}"
        key = letter.key.decode("utf-8", "replace") if letter.key is not None else ""
        table.add_row(
            f"{letter.partition}/{letter.offset}",
            key,
            original,
            error,
            letter.header("dlq-failed-at"),
        )
    return table


def replay_table(summary: ReplaySummary) -> Table:
    verb = "would replay" if summary.dry_run else "replayed"
    table = Table(
        title=f"{summary.dlq_topic}: {verb} {len(summary.letters)} record(s) (group {summary.group})"
    )
    for column in ("partition/offset", "key", "to topic", "error it had"):
        table.add_column(column, overflow="fold")
    for letter in summary.letters:
        key = letter.key.decode("utf-8", "replace") if letter.key is not None else ""
        table.add_row(
            f"{letter.partition}/{letter.offset}",
            key,
            letter.header("dlq-original-topic", "?"),
            letter.header("dlq-error-type"),
        )
    return table


def suggestions_table(mentee: str, suggestions: list[dict[str, Any]], names: dict[str, str]) -> Table:
    table = Table(title=f"Suggested mentors for {mentee}")
    for column in ("mentor", "score", "reasons"):
        table.add_column(column, overflow="fold")
    for s in suggestions:
        who = f"{names.get(s['mentor_id'], '')} ({s['mentor_id']})"
        table.add_row(who, f"{bar(s['score'])} {s['score']:.2f}", "; ".join(s.get("reasons", [])))
    return table


def round_tables(report: dict[str, Any]) -> list[Table]:
    summary = Table(title="Round report", show_header=False)
    summary.add_column("what")
    summary.add_column("value", justify="right")
    mean, low = report.get("mean_score"), report.get("min_score")
    summary.add_row("round", f"{report['round_id']} ({report['status']})")
    summary.add_row("matched", f"[green]{report['matched']}[/]")
    summary.add_row("unmatched", str(len(report.get("unmatched", []))))
    summary.add_row("total score", f"{report.get('total_score', 0.0):.2f}")
    summary.add_row("mean score", f"{mean:.3f}" if mean is not None else "-")
    summary.add_row("min score", f"{low:.3f}" if low is not None else "-")
    tables = [summary]
    reasons = report.get("unmatched_reasons") or Counter(u["reason"] for u in report.get("unmatched", []))
    if reasons:
        why = Table(title="Unmatched mentees by reason")
        why.add_column("reason")
        why.add_column("mentees", justify="right")
        for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
            why.add_row(reason, str(count))
        tables.append(why)
    # The report's histogram: {mentees per mentor (a JSON key): mentors with that many}.
    loads = {int(load): mentors for load, mentors in report.get("mentor_load", {}).items()}
    if loads:
        histogram = Table(title="Mentor load")
        histogram.add_column("mentees per mentor", justify="right")
        histogram.add_column("mentors", justify="right")
        histogram.add_column("")
        most = max(loads.values())
        for load in sorted(loads):
            histogram.add_row(str(load), str(loads[load]), bar(loads[load] / most, 30))
        tables.append(histogram)
    return tables


def inbox_table(rows: list[tuple[str, str, dict[str, Any] | None]]) -> Table:
    table = Table(title="Notifications (in-app inbox)")
    for column in ("who", "role", "items", "unread", "latest"):
        table.add_column(column, overflow="fold")
    for who, role, inbox in rows:
        if inbox is None:
            table.add_row(who, role, "-", "-", "[dim]no inbox[/]")
            continue
        items = inbox.get("items", [])
        latest = items[0]["subject"] if items else ""
        more = "+" if inbox.get("next_cursor") else ""
        table.add_row(who, role, f"{len(items)}{more}", str(inbox.get("unread_count", 0)), latest)
    return table
