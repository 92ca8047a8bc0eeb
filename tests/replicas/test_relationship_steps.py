"""The relationships service's time-driven steps on two replicas, each effect once.

Two relationships replicas, on a clock the test moves (the service's ``SettableClock``, see
``clocked_relationships.py``), plan the same due steps of the same relationships on every pass
(every 0.1 s); two notifications replicas turn the steps' events into emails. The clock goes to a
week after the pairs met (the unsigned-agreement and session reminders), two weeks (the at-risk
nudges), a month (the first pulse feedback requests), three months (the second pulses, and the
inactive alert to the program's admin) and a hundred days (the program's auto-close), resting at
each while both replicas go on planning. The second replica's clock follows a second late, so for
a second after each move one replica plans at the new time and the other at the old one, which
must not take back what the first decided (an inactive pair is not at risk again). Every step is
one event (counted by event id) and every email it causes arrives once (counted on the raw SMTP
messages).
"""

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from tandem_chassis.auth import mint_dev_token
from tandem_chassis.testing import ServiceProcess, eventually, free_port, publish_event, read_topic
from tandem_cli import kafka_io
from tandem_contracts import EventData, MentorshipAccepted, ProfileRegistered, ProgramCreated, topics

from services.notifications.tests.support import Mailbox, SmtpSink

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

PAIRS = 6
ADMIN = "steps-admin"
PROGRAM = "steps-program"
AUTO_CLOSE_DAYS = 100
SESSION_AT = timedelta(days=7, hours=12)  # its reminder is due from 24 h before
REST_S = 2.0  # at each clock setting, both replicas plan ~20 more times
CLOCK_LAG_S = 1.0  # the second replica's clock follows the test's this much later
WAIT_S = 120.0
CLOCKED = Path(__file__).with_name("clocked_relationships.py")

# The clock's stops (days after the pairs met) and the steps due at each, per pair.
PHASES: list[tuple[float, set[str]]] = [
    (7, {"reminder:agreement_unsigned", "reminder:session_upcoming"}),
    (15, {"health:at_risk"}),  # the agreement is still unsigned after 14 days
    (30, {"feedback:pulse:1:mentor", "feedback:pulse:1:mentee"}),
    (91, {"feedback:pulse:2:mentor", "feedback:pulse:2:mentee", "health:inactive"}),  # 3x monthly
    (AUTO_CLOSE_DAYS, {"auto_closed"}),
]
# Emails per pair: the session invitation (not time-driven), then the steps'.
EMAILS_PER_PAIR = {
    "session_scheduled": 2,
    "agreement_unsigned": 2,
    "session_upcoming": 2,
    "relationship_nudge": 2,
    "feedback_requested": 4,
    "relationship_alert": 1,  # to the program's one admin
}
STEP_TYPES = {
    "relationship.reminder_due",
    "relationship.feedback_requested",
    "relationship.health_changed",
    "relationship.auto_closed",
}


class ClockedRelationships(ServiceProcess):
    """A relationships replica whose clock follows ``clock_file``."""

    def __init__(
        self, env: dict[str, str], log_dir: Path, clock_file: Path, *, replica: int, lag_s: float
    ) -> None:
        super().__init__("relationships", env, log_dir, replica=replica)
        self.clock_file = clock_file
        self.lag_s = lag_s

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(CLOCKED), str(self.clock_file), str(self.lag_s)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@dataclass
class Stack:
    env: dict[str, str]
    relationships: list[ClockedRelationships]
    notifications: list[ServiceProcess]
    clock_file: Path
    mail: Mailbox
    http: httpx.AsyncClient

    def set_clock(self, at: datetime) -> None:
        staged = self.clock_file.with_suffix(".next")
        staged.write_text(at.isoformat())
        os.replace(staged, self.clock_file)

    def topic(self, name: str) -> str:
        return self.env["TANDEM_KAFKA_TOPIC_PREFIX"] + name

    async def publish(self, topic: str, *data: EventData) -> None:
        await publish_event(self.env["TANDEM_KAFKA_BOOTSTRAP_SERVERS"], self.topic(topic), *data)

    def auth(self, sub: str) -> dict[str, str]:
        token = mint_dev_token(self.env["TANDEM_JWT_SECRET"], sub=sub, roles=["employee"])
        return {"Authorization": f"Bearer {token}"}

    async def events(self, until: Any) -> list[tuple[str, str, dict[str, Any]]]:
        """(event id, type, data) of every record of tandem.relationships, read until ``until``."""
        records = await read_topic(
            self.env["TANDEM_KAFKA_BOOTSTRAP_SERVERS"],
            self.topic(topics.RELATIONSHIPS),
            until=lambda found: until(_decoded(found)),
            timeout_s=WAIT_S,
        )
        return _decoded(records)

    async def all_events(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Every record tandem.relationships holds now."""
        bootstrap, topic = self.env["TANDEM_KAFKA_BOOTSTRAP_SERVERS"], self.topic(topics.RELATIONSHIPS)
        async with kafka_io.consumer(bootstrap) as reader:
            begin, end = await kafka_io.offset_range(reader, await kafka_io.partitions_of(reader, topic))
        held = sum(end[tp] - begin[tp] for tp in end)
        return await self.events(lambda events: len(events) >= held)


def _decoded(records: list[Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (dict(r.headers)["ce_id"].decode(), dict(r.headers)["ce_type"].decode(), json.loads(r.value))
        for r in records
    ]


def step_of(event_type: str, data: dict[str, Any]) -> str:
    """The step an event records, named as in ``PHASES``."""
    if event_type == "relationship.reminder_due":
        return f"reminder:{data['kind']}"
    if event_type == "relationship.feedback_requested":
        return f"feedback:{data['request_id']}"
    if event_type == "relationship.health_changed":
        return f"health:{data['health']}"
    return "auto_closed"


def steps_taken(events: list[tuple[str, str, dict[str, Any]]]) -> Counter[tuple[str, str]]:
    """(mentorship, step) -> distinct events recording it (a relay may publish an event twice,
    with the same id, which consumers drop; a step taken twice is two ids)."""
    distinct = {event_id: (kind, data) for event_id, kind, data in events if kind in STEP_TYPES}
    return Counter((data["mentorship_id"], step_of(kind, data)) for kind, data in distinct.values())


def difference(taken: Counter[tuple[str, str]], due: Counter[tuple[str, str]]) -> str:
    twice = {step: n for step, n in taken.items() if n > 1}
    return f"taken twice {twice}, missing {set(due) - set(taken)}, not due {set(taken) - set(due)}"


def person(employee_id: str) -> ProfileRegistered:
    return ProfileRegistered(
        employee_id=employee_id,
        version=1,
        status="active",
        email=f"{employee_id}@example.com",
        display_name=employee_id.upper(),
    )


@pytest.fixture
async def stack(isolated_settings: dict[str, str], tmp_path: Path) -> AsyncIterator[Stack]:
    sink = SmtpSink(free_port())
    sink.start()
    env = isolated_settings | {
        "TANDEM_SMTP_HOST": "127.0.0.1",
        "TANDEM_SMTP_PORT": str(sink.port),
        "TANDEM_SMTP_TIMEOUT_S": "3",
        "TANDEM_WEBHOOK_TIMEOUT_S": "3",
        "TANDEM_DELIVERY_LEASE_S": "10",
        "TANDEM_DELIVERY_BACKOFF_INITIAL_S": "0.2",
        "TANDEM_DELIVERY_BACKOFF_MAX_S": "1",
        "TANDEM_DISPATCHER_POLL_INTERVAL_S": "0.5",
        "TANDEM_STEPS_INTERVAL_S": "0.1",
    }
    clock_file = tmp_path / "clock"
    # Whole seconds: the clock answers milliseconds, and a step due exactly a week after the
    # meeting must not miss it by the microseconds the stored meeting time keeps.
    clock_file.write_text(datetime.now(UTC).replace(microsecond=0).isoformat())
    relationships = [
        ClockedRelationships(env, tmp_path, clock_file, replica=n, lag_s=lag)
        for n, lag in ((1, 0.0), (2, CLOCK_LAG_S))
    ]
    notifications = [ServiceProcess("notifications", env, tmp_path, replica=n) for n in (1, 2)]
    processes = [*relationships, *notifications]
    try:
        for process in processes:
            process.start()
        for process in processes:
            await process.wait_ready()
        async with httpx.AsyncClient(timeout=60.0) as http:
            yield Stack(env, relationships, notifications, clock_file, Mailbox(sink), http)
    finally:
        for process in processes:
            process.stop()
        sink.stop()


async def test_time_driven_steps_on_two_replicas_happen_once_and_email_once(
    stack: Stack, mongo_client: AsyncMongoClient[dict[str, object]]
) -> None:
    began = time.monotonic()
    met = datetime.fromisoformat(stack.clock_file.read_text())
    pairs = [(f"steps-m-{n}", f"steps-mentor-{n}", f"steps-mentee-{n}") for n in range(PAIRS)]
    people = [ADMIN, *(p for _, mentor, mentee in pairs for p in (mentor, mentee))]
    await stack.publish(topics.PROFILES, *map(person, people))
    program = ProgramCreated(
        program_id=PROGRAM, name="Steps", admin_ids=[ADMIN], auto_close_inactive_days=AUTO_CLOSE_DAYS
    )
    await stack.publish(topics.PROGRAMS, program)
    await stack.publish(
        topics.MENTORSHIPS,
        *(
            MentorshipAccepted(
                mentorship_id=m,
                mentor_id=mentor,
                mentee_id=mentee,
                program_id=PROGRAM,
                status="accepted",
                accepted_at=met,
            )
            for m, mentor, mentee in pairs
        ),
    )

    # Each mentee schedules a session, through one replica or the other.
    for n, (m, _, mentee) in enumerate(pairs):
        replica = stack.relationships[n % 2]
        path = f"{replica.url}/v1/mentorships/{m}"

        async def opened(path: str = path, mentee: str = mentee) -> bool:
            answer = await stack.http.get(f"{path}/relationship", headers=stack.auth(mentee))
            return answer.status_code == 200

        await eventually(opened, f"relationship {m} opened", WAIT_S)
        session = {"starts_at": (met + SESSION_AT).isoformat()}
        answer = await stack.http.post(f"{path}/sessions", json=session, headers=stack.auth(mentee))
        assert answer.status_code == 201, answer.text

    due: Counter[tuple[str, str]] = Counter()
    timings = []
    for days, steps in PHASES:
        stack.set_clock(met + timedelta(days=days))
        due.update({(m, step): 1 for m, _, _ in pairs for step in steps})
        started = time.monotonic()
        await stack.events(lambda events, due=due: set(steps_taken(events)) >= set(due))
        timings.append(f"day {days:g} {time.monotonic() - started:.1f}s")
        await asyncio.sleep(REST_S)
        taken = steps_taken(await stack.all_events())
        assert taken == due, f"day {days:g}: {difference(taken, due)}"  # nothing early, nothing twice

    events = await stack.all_events()
    taken = steps_taken(events)
    twice = {step: n for step, n in taken.items() if n > 1}
    expected = Counter({kind: n * PAIRS for kind, n in EMAILS_PER_PAIR.items()})

    def emails() -> Counter[str]:
        kinds = stack.mail.refresh().kinds()
        return Counter({kind: kinds[kind] for kind in expected})

    await eventually(lambda: emails() == expected, f"the steps' emails {dict(expected)}", WAIT_S)
    await asyncio.sleep(REST_S)  # a late duplicate would have arrived by now
    mail = stack.mail.refresh()
    step_events = {event_id for event_id, kind, _ in events if kind in STEP_TYPES}
    # A delivery id is <event id>[#variant]:<recipient>:<channel>.
    emailed = {
        delivery.split(":", 1)[0].split("#", 1)[0]
        for delivery, (kind, _) in mail.sent.items()
        if kind in expected
    }
    deliveries = mongo_client[stack.notifications[0].env["TANDEM_MONGODB_DATABASE"]]["deliveries"]
    closed_inbox = await deliveries.count_documents({"kind": "relationship_auto_closed", "channel": "inapp"})
    print(
        f"\n  {PAIRS} pairs on 2 relationships replicas, clock moved to {', '.join(timings)}"
        f"\n  relationship records {len(events)}, distinct events {len({e[0] for e in events})}, "
        f"step events {len(step_events)}, steps {len(taken)} of {len(due)} due, taken twice {len(twice)}"
        f"\n  raw SMTP messages {mail.total}, distinct {len(mail.raw)}, sent twice {len(mail.twice())}; "
        f"steps' emails {dict(emails())}; auto-close inbox messages {closed_inbox}; "
        f"total {time.monotonic() - began:.0f}s"
    )
    assert taken == due, difference(taken, due)
    assert not mail.twice(), f"emails sent more than once: {mail.twice()}"
    assert emails() == expected
    session_events = {e[0] for e in events if e[1] == "relationship.session_scheduled"}
    assert emailed <= step_events | session_events
    assert closed_inbox == 2 * PAIRS
