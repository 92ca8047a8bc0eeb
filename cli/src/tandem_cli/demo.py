"""``tandem demo``: a generated organisation travels through the running platform.

HR events go to Kafka; profiles registers everyone; employees set their mentoring profiles
with their own tokens; matching suggests mentors; an admin runs a program round; the
notifications service fills inboxes. After the round, the pairs go on in the relationships
service (``demo_after``): agreements, sessions, feedback, a poor fit re-matched, health.
"""

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from tandem_chassis.auth import mint_dev_token
from tandem_contracts import encode, new_event, topics

from tandem_cli import kafka_io, views
from tandem_cli.api import Api
from tandem_cli.demo_after import AfterTheMatch
from tandem_cli.demo_org import generate_organisation, mentoring_profiles
from tandem_cli.errors import CliError
from tandem_cli.polling import until
from tandem_cli.report import fetch_report, print_report

__all__ = ["DemoOptions", "run_demo"]

ADMIN = "demo-admin"
SOURCE = "/tandem-cli/demo"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    profiles_url: str
    matching_url: str
    notifications_url: str
    relationships_url: str
    bootstrap_servers: str
    secret: str
    topic_prefix: str = ""
    group_prefix: str = ""
    employees: int = 300
    seed: int = 7
    timeout_s: float = 120.0


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


class Demo:
    def __init__(self, options: DemoOptions, client: httpx.AsyncClient, console: Console) -> None:
        self.o = options
        self.console = console
        self.profiles = Api("profiles", options.profiles_url, client)
        self.matching = Api("matching", options.matching_url, client)
        self.notifications = Api("notifications", options.notifications_url, client)
        self.relationships = Api("relationships", options.relationships_url, client)
        self.admin = self.token(ADMIN, "program_admin", "employee")
        self.org = generate_organisation(options.employees, seed=options.seed)
        self.names = {e.employee_id: e.display_name for e in self.org}
        self.patches = mentoring_profiles(self.org, seed=options.seed)
        self.mentors = sorted(i for i, p in self.patches.items() if "mentor" in p["roles"])
        self.mentees = sorted(i for i, p in self.patches.items() if "mentee" in p["roles"])

    def token(self, sub: str, *roles: str) -> str:
        token: str = mint_dev_token(self.o.secret, sub=sub, roles=list(roles))
        return token

    async def publish_organisation(self) -> None:
        topic = f"{self.o.topic_prefix}{topics.HR_EMPLOYEES}"
        async with kafka_io.producer(self.o.bootstrap_servers) as producer:
            sent = []
            for employee in self.org:
                # A stable event id per (seed, employee): running the demo again adds no duplicates.
                event = new_event(
                    employee, source=SOURCE, event_id=f"demo-{self.o.seed}-{employee.employee_id}"
                )
                record = encode(event)
                sent.append(
                    await producer.send(
                        topic,
                        value=record.value,
                        key=record.key,
                        headers=list(record.headers.items()),
                    )
                )
            await asyncio.gather(*sent)
        self.console.print(f"published {len(self.org)} hr.employee.joined events to [bold]{topic}[/]")

    async def _registered(self) -> int:
        wanted, seen, cursor = set(self.names), 0, None
        while True:
            params: dict[str, Any] = {"limit": 200} | ({"cursor": cursor} if cursor else {})
            page = (await self.profiles.call("GET", "/v1/profiles", token=self.admin, params=params)).json()
            seen += sum(1 for p in page["items"] if p["employee_id"] in wanted)
            cursor = page.get("next_cursor")
            if not cursor:
                return seen

    async def wait_for_profiles(self) -> None:
        with _progress(self.console) as progress:
            task = progress.add_task("profiles registered", total=len(self.org))

            async def all_there() -> bool:
                count = await self._registered()
                progress.update(task, completed=count)
                return count >= len(self.org)

            await until(all_there, what="profiles to register the organisation", timeout_s=self.o.timeout_s)

    async def set_mentoring_profiles(self) -> None:
        gate = asyncio.Semaphore(16)
        with _progress(self.console) as progress:
            task = progress.add_task("mentoring profiles set", total=len(self.patches))

            async def patch(employee_id: str, body: dict[str, Any]) -> None:
                async with gate:
                    await self.profiles.call(
                        "PATCH",
                        f"/v1/profiles/{employee_id}",
                        token=self.token(employee_id, "employee"),
                        json=body,
                    )
                progress.advance(task)

            await asyncio.gather(*(patch(i, body) for i, body in self.patches.items()))
        self.console.print(
            f"{len(self.mentors)} mentors and {len(self.mentees)} mentees of {len(self.org)} employees"
        )

    async def _suggestions(self, mentee: str) -> list[dict[str, Any]] | None:
        answer = await self.matching.call(
            "GET",
            f"/v1/mentees/{mentee}/suggestions",
            token=self.admin,
            params={"limit": 5},
            ok=(200, 404),
        )
        return answer.json()["suggestions"] if answer.status_code == 200 else None

    async def _matching_caught_up(self) -> bool:
        """Matching has consumed every profile event there is, and no more are coming."""
        topic = f"{self.o.topic_prefix}{topics.PROFILES}"
        group = f"{self.o.group_prefix}tandem-matching"
        async with (
            kafka_io.admin_client(self.o.bootstrap_servers) as admin,
            kafka_io.consumer(self.o.bootstrap_servers) as reader,
        ):
            partitions = await kafka_io.partitions_of(reader, topic)
            if not partitions:
                return False
            previous = -1
            deadline = asyncio.get_running_loop().time() + self.o.timeout_s
            while asyncio.get_running_loop().time() < deadline:
                committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
                _, end = await kafka_io.offset_range(reader, partitions)
                total = sum(end.values())
                done = sum(max(0, m.offset) for m in committed.values() if m is not None)
                if done >= total and total == previous:
                    return True
                previous = total
                await asyncio.sleep(1.0)  # longer than the outbox relay's poll: events in flight land
        return False

    async def wait_for_matching(self, mentee: str) -> list[dict[str, Any]]:
        with self.console.status("waiting for matching to see the mentoring profiles…"):
            found = await until(
                lambda: self._suggestions(mentee),
                what=f"suggestions for {mentee}",
                timeout_s=self.o.timeout_s,
            )
            if await self._matching_caught_up():
                found = await self._suggestions(mentee) or found
        return found

    async def run_program(self) -> dict[str, Any]:
        body = {
            "name": f"Demo mentoring program (seed {self.o.seed})",
            "description": f"{len(self.org)} generated employees",
        }
        program = (await self.matching.call("POST", "/v1/programs", token=self.admin, json=body)).json()
        pid = program["program_id"]
        await self.matching.call(
            "POST",
            f"/v1/programs/{pid}/enrollments",
            token=self.admin,
            json={"mentee_ids": self.mentees, "mentor_ids": self.mentors},
        )
        self.console.print(
            f"program [bold]{pid}[/]: enrolled {len(self.mentees)} mentees and {len(self.mentors)} mentors"
        )
        with self.console.status("running a matching round…"):
            rounds = f"/v1/programs/{pid}/rounds"
            # A round answers when it has proposed every pair: give it the step's whole time.
            answer = await self.matching.call("POST", rounds, token=self.admin, timeout_s=self.o.timeout_s)
            report: dict[str, Any] = answer.json()

            async def completed() -> dict[str, Any] | None:
                path = f"/v1/programs/{pid}/rounds/{report['round_id']}"
                found = (await self.matching.call("GET", path, token=self.admin)).json()
                return found if found.get("completed_at") else None

            if not report.get("completed_at"):
                report = await until(completed, what="the round to complete", timeout_s=self.o.timeout_s)
        return report

    async def _inbox(self, employee_id: str) -> dict[str, Any] | None:
        answer = await self.notifications.call(
            "GET",
            f"/v1/employees/{employee_id}/notifications",
            token=self.token(employee_id, "employee"),
            params={"limit": 100},
            ok=(200, 404),
        )
        return answer.json() if answer.status_code == 200 else None

    async def show_notifications(self, report: dict[str, Any], sample: str) -> None:
        pairs = report.get("pairs", [])
        mentee = (
            sample
            if any(p["mentee_id"] == sample for p in pairs)
            else (pairs[0]["mentee_id"] if pairs else sample)
        )
        mentor = next((p["mentor_id"] for p in pairs if p["mentee_id"] == mentee), None)
        with self.console.status("waiting for notifications…"):
            try:
                await until(
                    lambda: self._has_items(mentee),
                    what="notifications",
                    timeout_s=min(30.0, self.o.timeout_s),
                )
            except CliError:
                self.console.print(f"[yellow]no notification reached {mentee}'s inbox yet[/]")
        rows = [(f"{self.names.get(mentee, '')} ({mentee})", "mentee", await self._inbox(mentee))]
        if mentor:
            rows.append((f"{self.names.get(mentor, '')} ({mentor})", "mentor", await self._inbox(mentor)))
        rows.append((ADMIN, "program admin", await self._inbox(ADMIN)))
        self.console.print(views.inbox_table(rows))

    async def _has_items(self, employee_id: str) -> bool:
        inbox = await self._inbox(employee_id)
        return bool(inbox and inbox.get("items"))

    async def after_the_match(self, report: dict[str, Any]) -> None:
        after = AfterTheMatch(
            matching=self.matching,
            relationships=self.relationships,
            token=lambda sub: self.token(sub, "employee"),
            names=self.names,
            goals={i: p.get("goals", []) for i, p in self.patches.items()},
            console=self.console,
            timeout_s=self.o.timeout_s,
        )
        await after.run(report)

    def sample_mentee(self) -> str:
        """The first mentee whose goals some mentor teaches: the demo's protagonist."""
        taught = {s["name"] for i in self.mentors for s in self.patches[i]["skills"]}
        for mentee in self.mentees:
            if {g["name"] for g in self.patches[mentee]["goals"]} & taught:
                return mentee
        if not self.mentees:
            raise CliError("the organisation is too small to have mentees: use --employees 10 or more")
        return self.mentees[0]


async def run_demo(options: DemoOptions, console: Console) -> dict[str, Any]:
    """The whole demo; returns the round's report."""
    async with httpx.AsyncClient(timeout=30.0) as client:
        demo = Demo(options, client, console)
        if not demo.mentors or not demo.mentees:
            raise CliError("the organisation is too small for mentoring: use --employees 10 or more")
        for api in (demo.profiles, demo.matching, demo.notifications, demo.relationships):
            await api.ready()
        await demo.publish_organisation()
        await demo.wait_for_profiles()
        await demo.set_mentoring_profiles()
        sample = demo.sample_mentee()
        suggestions = await demo.wait_for_matching(sample)
        console.print(views.suggestions_table(f"{demo.names[sample]} ({sample})", suggestions, demo.names))
        report = await demo.run_program()
        for table in views.round_tables(report):
            console.print(table)
        await demo.show_notifications(report, sample)
        await demo.after_the_match(report)
        # The demo ends as `tandem report <program>` would: health, outcomes, learned weights.
        console.rule(f"tandem report {report['program_id']}")
        print_report(
            await fetch_report(demo.relationships, demo.matching, report["program_id"], token=demo.admin),
            console,
        )
        return report
