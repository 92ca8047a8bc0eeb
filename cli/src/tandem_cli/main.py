"""``tandem``: the platform's command line (typer + rich). Wiring only: the work is elsewhere."""

import asyncio
from collections.abc import Coroutine
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import httpx
import typer
from rich.console import Console
from tandem_chassis.services import local_url

from tandem_cli import dlq, report, status, views
from tandem_cli.api import Api
from tandem_cli.demo import ADMIN, DemoOptions, run_demo
from tandem_cli.errors import CliError
from tandem_cli.tokens import dev_token, resolve_secret

app = typer.Typer(
    help="Tandem: demo organisation, dev tokens, dead letters, platform status.",
    no_args_is_help=True,
)
dlq_app = typer.Typer(help="Dead letters: list them, replay them.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")

T = TypeVar("T")

Bootstrap = Annotated[
    str,
    typer.Option("--bootstrap-servers", envvar="TANDEM_KAFKA_BOOTSTRAP_SERVERS", help="Kafka"),
]
TopicPrefix = Annotated[
    str,
    typer.Option("--topic-prefix", envvar="TANDEM_KAFKA_TOPIC_PREFIX", help="prepended to topic names"),
]
GroupPrefix = Annotated[
    str,
    typer.Option("--group-prefix", envvar="TANDEM_KAFKA_GROUP_PREFIX", help="prepended to consumer groups"),
]
ProfilesUrl = Annotated[str, typer.Option(envvar="TANDEM_PROFILES_URL")]
MatchingUrl = Annotated[str, typer.Option(envvar="TANDEM_MATCHING_URL")]
NotificationsUrl = Annotated[str, typer.Option(envvar="TANDEM_NOTIFICATIONS_URL")]
RelationshipsUrl = Annotated[str, typer.Option(envvar="TANDEM_RELATIONSHIPS_URL")]
Secret = Annotated[
    str | None,
    typer.Option(help="HS256 secret; default: TANDEM_JWT_SECRET, else <repo>/.local/dev-jwt-secret"),
]
KAFKA = "127.0.0.1:9092"
PROFILES_URL = local_url("profiles")
MATCHING_URL = local_url("matching")
NOTIFICATIONS_URL = local_url("notifications")
RELATIONSHIPS_URL = local_url("relationships")


def _console() -> Console:
    return Console(highlight=False)


def _fail(error: CliError) -> typer.Exit:
    """The error's message on stderr; exit code 1."""
    Console(stderr=True, highlight=False).print(f"[red]error:[/] {error}")
    return typer.Exit(1)


def _run(work: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(work)
    except CliError as error:
        raise _fail(error) from None


@app.callback()
def main() -> None:
    """Tandem's command line."""


@app.command()
def token(
    sub: Annotated[str, typer.Option(help="the employee id (or admin id) the token speaks for")],
    role: Annotated[list[str], typer.Option(help="employee, program_admin or hr_integration; repeatable")],
    ttl_hours: Annotated[float, typer.Option(help="hours until it expires")] = 8.0,
    secret: Secret = None,
) -> None:
    """Print an HS256 dev token (refused when TANDEM_ENV=prod)."""
    try:
        minted = dev_token(sub=sub, roles=role, secret=resolve_secret(secret), ttl=timedelta(hours=ttl_hours))
    except CliError as error:
        raise _fail(error) from None
    typer.echo(minted)


@app.command("status")
def status_command(
    profiles_url: ProfilesUrl = PROFILES_URL,
    matching_url: MatchingUrl = MATCHING_URL,
    notifications_url: NotificationsUrl = NOTIFICATIONS_URL,
    bootstrap_servers: Bootstrap = KAFKA,
    topic_prefix: TopicPrefix = "",
    group_prefix: GroupPrefix = "",
) -> None:
    """Readiness of each service, consumer lag per topic, dead letters per .dlq topic."""
    console = _console()
    urls = {"profiles": profiles_url, "matching": matching_url, "notifications": notifications_url}
    services = _run(status.service_health(urls))
    console.print(views.health_table(services))
    try:
        report = asyncio.run(
            status.kafka_report(bootstrap_servers, topic_prefix=topic_prefix, group_prefix=group_prefix)
        )
    except CliError as error:
        raise _fail(error) from None
    for table in views.kafka_tables(report, topic_prefix=topic_prefix):
        console.print(table)
    if any(s.status == "unreachable" for s in services):
        console.print("[yellow]some services are not reachable: run `make run` first[/]")
    if not all(s.ok for s in services):
        raise typer.Exit(1)


Topic = Annotated[str, typer.Argument(help="e.g. hr.employees (or hr.employees.dlq)")]


@dlq_app.command("list")
def dlq_list(
    topic: Topic,
    limit: Annotated[int, typer.Option(min=1, help="show the latest N")] = 20,
    bootstrap_servers: Bootstrap = KAFKA,
    topic_prefix: TopicPrefix = "",
) -> None:
    """Show the dead letters of <TOPIC>.dlq: where they came from, why and when they failed."""
    name, total, letters = _run(
        dlq.list_dead_letters(bootstrap_servers, topic, prefix=topic_prefix, limit=limit)
    )
    _console().print(views.dead_letters_table(name, total, letters))


@dlq_app.command("replay")
def dlq_replay(
    topic: Topic,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would be replayed")] = False,
    since_offset: Annotated[
        int | None, typer.Option(min=0, help="skip records below this offset (in every partition)")
    ] = None,
    bootstrap_servers: Bootstrap = KAFKA,
    topic_prefix: TopicPrefix = "",
) -> None:
    """Re-publish dead letters to their original topic; never the same one twice."""
    summary = _run(
        dlq.replay(
            bootstrap_servers,
            topic,
            prefix=topic_prefix,
            dry_run=dry_run,
            since_offset=since_offset,
        )
    )
    console = _console()
    if summary.letters:
        console.print(views.replay_table(summary))
    if dry_run:
        console.print(f"dry run: {len(summary.letters)} record(s) would be replayed; nothing published")
    elif summary.replayed:
        where = ", ".join(f"{count} to {topic}" for topic, count in summary.replayed.items())
        console.print(f"replayed {sum(summary.replayed.values())} record(s): {where}")
    else:
        console.print(f"nothing to replay: {summary.dlq_topic} has no new dead letters")


@app.command("report")
def report_command(
    program_id: Annotated[str, typer.Argument(metavar="PROGRAM", help="the program's id")],
    admin: Annotated[str, typer.Option(help="a program admin of PROGRAM (the token's subject)")] = ADMIN,
    relationships_url: RelationshipsUrl = RELATIONSHIPS_URL,
    matching_url: MatchingUrl = MATCHING_URL,
    secret: Secret = None,
) -> None:
    """A program's health, outcomes and learned weights (small groups withheld, as the services say)."""
    console = _console()

    async def work() -> report.ProgramReport:
        token = dev_token(
            sub=admin, roles=["program_admin"], secret=resolve_secret(secret), ttl=timedelta(hours=1)
        )
        async with httpx.AsyncClient(timeout=30.0) as client:
            return await report.fetch_report(
                Api("relationships", relationships_url, client),
                Api("matching", matching_url, client),
                program_id,
                token=token,
            )

    report.print_report(_run(work()), console)


@app.command()
def demo(
    employees: Annotated[int, typer.Option(min=2, max=10_000, help="size of the organisation")] = 300,
    seed: Annotated[int, typer.Option(help="same seed, same organisation")] = 7,
    profiles_url: ProfilesUrl = PROFILES_URL,
    matching_url: MatchingUrl = MATCHING_URL,
    notifications_url: NotificationsUrl = NOTIFICATIONS_URL,
    relationships_url: RelationshipsUrl = RELATIONSHIPS_URL,
    bootstrap_servers: Bootstrap = KAFKA,
    topic_prefix: TopicPrefix = "",
    group_prefix: GroupPrefix = "",
    secret: Secret = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for each step")] = 120.0,
) -> None:
    """Publish a generated organisation and walk it through profiles, matching, notifications
    and, after the round, relationships."""
    console = _console()

    async def work() -> dict[str, Any]:
        options = DemoOptions(
            profiles_url=profiles_url,
            matching_url=matching_url,
            notifications_url=notifications_url,
            relationships_url=relationships_url,
            bootstrap_servers=bootstrap_servers,
            secret=resolve_secret(secret),
            topic_prefix=topic_prefix,
            group_prefix=group_prefix,
            employees=employees,
            seed=seed,
            timeout_s=timeout,
        )
        return await run_demo(options, console)

    report = _run(work())
    console.print(f"[bold green]demo done[/]: round matched {report['matched']} mentee(s)")
