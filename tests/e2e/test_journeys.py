"""An organisation's journey through Tandem, end to end.

The three services run as separate processes on the real broker and store. The test drives
them only through the public contracts — HR events on ``hr.employees``, the HTTP APIs with dev
JWTs — and observes them through the HTTP APIs, the published topics and the emails that reach
a real SMTP server:

1. 300 generated employees join; every profile is readable, everyone is welcomed by email;
2. mentors and mentees fill in their profiles with their own tokens;
3. mentees get explained suggestions, request mentors, the mentors accept;
4. a program admin enrols the rest and runs a round;
5. a mentor leaves: their mentorships end (``mentor_left``), their mentees get new proposals;
6. a leaver past the retention period is erased everywhere.
"""

import asyncio
import json
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from tandem_chassis.auth import mint_dev_token
from tandem_chassis.testing import Platform, as_record, eventually, free_port, publish_raw, read_topic
from tandem_cli import kafka_io
from tandem_cli.demo_org import generate_organisation, mentoring_profiles
from tandem_cli.status import kafka_report
from tandem_contracts import EmployeeJoined, EmployeeLeft, new_event, topics

from services.notifications.tests.support import SmtpSink

# The journey usually takes a few minutes; the suite's 600 s default is too tight on a busy machine.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

SEED = 7
EMPLOYEES = 300
HR_SOURCE = "/hr/journey"
WEIGHTS = {"goal_fit": 0.45, "seniority": 0.15, "timezone": 0.15, "department": 0.10, "interests": 0.15}
OPEN = ("proposed", "accepted")
REQUESTERS = 12  # mentees who pick a mentor themselves in step 3
# Bounds, not expectations: on a shared 2-core machine a wait can take minutes.
WAIT_S = 240.0


@dataclass(frozen=True)
class Email:
    to: str
    kind: str
    subject: str
    text: str
    delivery_id: str

    @property
    def event_id(self) -> str:
        """The event that caused it: a delivery id is ``<event id>[#variant]:<recipient>:<channel>``."""
        return self.delivery_id.rsplit(":", 2)[0].split("#")[0]


class Mailbox:
    """What the SMTP sink received, parsed once per message."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink
        self._parsed: list[Email] = []

    def all(self) -> list[Email]:
        for received in self.sink.snapshot()[len(self._parsed) :]:
            message: EmailMessage = received.message
            body = message.get_body(preferencelist=("plain",))
            assert body is not None, "every email has a text part"
            self._parsed.append(
                Email(
                    to=str(message["To"]),
                    kind=str(message["X-Tandem-Notification-Kind"]),
                    subject=str(message["Subject"]),
                    text=body.get_content(),
                    delivery_id=str(message["X-Tandem-Delivery-Id"]),
                )
            )
        return list(self._parsed)

    def of(self, kind: str, *, to: str | None = None, event_id: str | None = None) -> list[Email]:
        return [
            e
            for e in self.all()
            if e.kind == kind and (to is None or e.to == to) and (event_id is None or e.event_id == event_id)
        ]


@dataclass
class Journey:
    """The platform under test, the clients that talk to it, and what the journey has done so far."""

    platform: Platform
    sink: SmtpSink
    client: httpx.AsyncClient
    org: list[EmployeeJoined] = field(default_factory=lambda: generate_organisation(EMPLOYEES, seed=SEED))
    patches: dict[str, dict[str, Any]] = field(default_factory=dict)
    requested: dict[str, dict[str, Any]] = field(default_factory=dict)  # mentee -> accepted mentorship
    leaver: str = ""

    def __post_init__(self) -> None:
        self.mail = Mailbox(self.sink)
        self.people = {e.employee_id: e for e in self.org}
        self.patches = mentoring_profiles(self.org, seed=SEED)
        self.mentors = sorted(i for i, p in self.patches.items() if "mentor" in p["roles"])
        self.mentees = sorted(i for i, p in self.patches.items() if "mentee" in p["roles"])
        # The head of People runs the mentoring program; as an employee she gets its emails too.
        self.admin = next(e.employee_id for e in self.org if e.department == "People" and e.level == 7)
        self._tokens: dict[tuple[str, tuple[str, ...]], str] = {}

    # --- talking to the platform ---

    def headers(self, sub: str, *roles: str) -> dict[str, str]:
        key = (sub, roles or ("employee",))
        if key not in self._tokens:
            self._tokens[key] = mint_dev_token(
                self.platform.env["TANDEM_JWT_SECRET"], sub=sub, roles=list(key[1])
            )
        return {"Authorization": f"Bearer {self._tokens[key]}"}

    async def call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        sub: str,
        roles: tuple[str, ...] = ("employee",),
        expect: int = 200,
        **kwargs: Any,
    ) -> Any:
        answer = await self.client.request(
            method, self.platform[service].url + path, headers=self.headers(sub, *roles), **kwargs
        )
        assert answer.status_code == expect, f"{method} {service}{path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    async def as_admin(self, method: str, service: str, path: str, **kwargs: Any) -> Any:
        return await self.call(
            method, service, path, sub=self.admin, roles=("employee", "program_admin"), **kwargs
        )

    async def as_hr(self, method: str, service: str, path: str, **kwargs: Any) -> Any:
        return await self.call(method, service, path, sub="hr-system", roles=("hr_integration",), **kwargs)

    async def publish_hr(self, *events: tuple[Any, datetime]) -> list[str]:
        """Publish HR events with the time HR says they happened; returns their event ids."""
        built = [new_event(data, source=HR_SOURCE, time=at) for data, at in events]
        await publish_raw(
            self.platform.bootstrap,
            self.platform.topic(topics.HR_EMPLOYEES),
            [as_record(event) for event in built],
        )
        return [event.id for event in built]

    async def all_profiles(self, **params: Any) -> list[dict[str, Any]]:
        items, cursor = [], None
        while True:
            query = {"limit": 200, **params} | ({"cursor": cursor} if cursor else {})
            page = await self.as_hr("GET", "profiles", "/v1/profiles", params=query)
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return items

    async def mentorships_of(self, employee_id: str) -> list[dict[str, Any]]:
        page = await self.as_admin(
            "GET", "matching", "/v1/mentorships", params={"employee_id": employee_id, "limit": 500}
        )
        return page["items"]

    async def open_mentorships(self) -> list[dict[str, Any]]:
        found = []
        for status in OPEN:
            page = await self.as_admin(
                "GET", "matching", "/v1/mentorships", params={"status": status, "limit": 500}
            )
            assert len(page["items"]) < 500, "the listing was cut short"
            found += page["items"]
        return found

    async def suggestions(self, mentee: str, limit: int = 10) -> list[dict[str, Any]]:
        page = await self.call(
            "GET", "matching", f"/v1/mentees/{mentee}/suggestions", sub=mentee, params={"limit": limit}
        )
        assert page["mentee_id"] == mentee
        return page["suggestions"]

    async def events(self, topic: str, until: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
        """The topic's events (``type``, ``id``, ``key``, ``data``) once ``until`` holds for them."""

        def decoded(records: list[Any]) -> list[dict[str, Any]]:
            found = []
            for record in records:
                headers = {k: v.decode() for k, v in record.headers}
                found.append(
                    {
                        "type": headers["ce_type"],
                        "id": headers["ce_id"],
                        "key": record.key.decode(),
                        "data": json.loads(record.value),
                    }
                )
            return found

        began = asyncio.get_running_loop().time()
        records = await read_topic(
            self.platform.bootstrap,
            self.platform.topic(topic),
            until=lambda records: until(decoded(records)),
            timeout_s=WAIT_S,
        )
        print(f"  events on {topic}: {asyncio.get_running_loop().time() - began:.1f}s")
        return decoded(records)

    async def consumed(self, group: str, topic: str, *, at_least: int) -> None:
        """Wait until ``topic`` holds ``at_least`` events and the service's group consumed them all."""
        name = self.platform.topic(topic)
        group_id = self.platform.env["TANDEM_KAFKA_GROUP_PREFIX"] + group

        async def caught_up() -> bool:
            async with (
                kafka_io.admin_client(self.platform.bootstrap) as admin,
                kafka_io.consumer(self.platform.bootstrap) as reader,
            ):
                partitions = await kafka_io.partitions_of(reader, name)
                committed = await admin.list_consumer_group_offsets(group_id, partitions=partitions)
                _, end = await kafka_io.offset_range(reader, partitions)
            done = sum(max(0, m.offset) for m in committed.values() if m is not None)
            total = sum(end.values())
            return total >= at_least and done >= total

        await wait_for(caught_up, f"{group} consumed {at_least} events of {topic}")

    async def emails(self, what: str, check: Callable[[], bool]) -> None:
        async def done() -> bool:
            return check()

        await wait_for(done, what)

    # --- the organisation, as the test knows it from HR ---

    def email_of(self, employee_id: str) -> str:
        return self.people[employee_id].email

    def name_of(self, employee_id: str) -> str:
        return self.people[employee_id].display_name

    def reporting_line(self, employee_id: str) -> set[str]:
        """Manager, manager's manager, direct and skip-level reports: never mentor and mentee."""
        up: set[str] = set()
        manager = self.people[employee_id].manager_id
        if manager:
            up.add(manager)
            skip = self.people[manager].manager_id
            if skip:
                up.add(skip)
        down = {e.employee_id for e in self.org if e.manager_id == employee_id}
        down |= {e.employee_id for e in self.org if e.manager_id in down}
        return up | down

    def capacity_of(self, mentor_id: str) -> int:
        return int(self.patches[mentor_id]["mentor_capacity"])


async def wait_for(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    """``eventually`` with the wait's length printed (progress for slow runs, never asserted)."""
    began = asyncio.get_running_loop().time()
    result = await eventually(check, what, timeout_s=WAIT_S)
    print(f"  {what}: {asyncio.get_running_loop().time() - began:.1f}s")
    return result


async def gather_limited(coroutines: Iterable[Awaitable[Any]], limit: int = 16) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(coroutine: Awaitable[Any]) -> Any:
        async with gate:
            return await coroutine

    return await asyncio.gather(*(one(c) for c in coroutines))


def hr_time(day: date) -> datetime:
    """When HR recorded a join: the morning of the start date."""
    return datetime.combine(day, clock_time(9), UTC)


@pytest.fixture
async def journey(isolated_settings: dict[str, str], tmp_path: Path) -> AsyncIterator[Journey]:
    sink = SmtpSink(free_port())
    sink.start()
    platform = Platform(
        isolated_settings
        | {
            "TANDEM_SMTP_HOST": "127.0.0.1",
            "TANDEM_SMTP_PORT": str(sink.port),
            "TANDEM_DELIVERY_BACKOFF_INITIAL_S": "0.5",
            "TANDEM_DISPATCHER_POLL_INTERVAL_S": "0.5",
            # A leaver is erased one day after leaving; the job looks every second.
            "TANDEM_RETENTION_DAYS": "1",
            "TANDEM_ERASURE_INTERVAL_S": "1",
        },
        tmp_path,
    )
    try:
        await platform.start()
        async with httpx.AsyncClient(timeout=30.0) as client:
            yield Journey(platform, sink, client)
    finally:
        platform.stop()
        sink.stop()


# --- step 1 ---------------------------------------------------------------------------------


async def an_organisation_joins(j: Journey) -> None:
    await j.publish_hr(*((employee, hr_time(employee.start_date)) for employee in j.org))

    async def all_registered() -> list[dict[str, Any]] | None:
        found = await j.all_profiles()
        return found if len(found) == EMPLOYEES else None

    # Every profile, as HR described the employee; each employee reads their own too.
    listed = {p["employee_id"]: p for p in await wait_for(all_registered, "profiles registered")}
    for employee in j.org:
        view, sent = listed[employee.employee_id], employee.model_dump(mode="json")
        assert {name: view[name] for name in sent} == sent, employee.employee_id
        assert view["status"] == "active" and view["version"] == 1
        assert view["roles"] == [] and view["skills"] == [] and view["mentor_capacity"] == 0
    readers = j.org[::10]
    own = await gather_limited(
        j.call("GET", "profiles", f"/v1/profiles/{e.employee_id}", sub=e.employee_id) for e in readers
    )
    assert own == [listed[e.employee_id] for e in readers]

    # A join sends a welcome and a nudge to complete the mentoring profile, once, to HR's address.
    def welcomed() -> bool:
        return len(j.mail.of("welcome")) >= EMPLOYEES and len(j.mail.of("complete_profile")) >= EMPLOYEES

    await j.emails("every employee's welcome emails", welcomed)
    by_address: dict[str, list[Email]] = defaultdict(list)
    for email in j.mail.all():
        by_address[email.to].append(email)
    assert set(by_address) == {e.email for e in j.org}
    for employee in j.org:
        emails = sorted(by_address[employee.email], key=lambda e: e.kind)
        assert [e.kind for e in emails] == ["complete_profile", "welcome"], employee.employee_id
        nudge, welcome = emails
        assert welcome.subject == f"Welcome to Tandem, {employee.display_name}"
        assert f"Hi {employee.display_name}" in welcome.text
        assert "whether you want to mentor, be mentored, or both" in nudge.text
        assert nudge.event_id == welcome.event_id

    events = await j.events(topics.PROFILES, lambda found: len(found) >= EMPLOYEES)
    assert Counter(e["type"] for e in events) == {"profile.registered": EMPLOYEES}
    assert {e["id"] for e in events} == {e.event_id for e in j.mail.of("welcome")}

    # The same notifications land in the in-app inbox.
    sample = [j.org[0].employee_id, j.org[EMPLOYEES // 2].employee_id, j.org[-1].employee_id]
    inboxes = await asyncio.gather(
        *(j.call("GET", "notifications", f"/v1/employees/{i}/notifications", sub=i) for i in sample)
    )
    for inbox in inboxes:
        assert sorted(item["kind"] for item in inbox["items"]) == ["complete_profile", "welcome"]
        assert inbox["unread_count"] == 2


# --- step 2 ---------------------------------------------------------------------------------


def _by_name(items: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return sorted((item["name"], item["level"]) for item in items)


def _matches_patch(view: dict[str, Any], patch: dict[str, Any]) -> None:
    for name, value in patch.items():
        if name in ("skills", "goals"):
            assert _by_name(view[name]) == _by_name(value), (view["employee_id"], name)
        elif name == "preferences":
            assert view[name]["department"] == value["department"], view["employee_id"]
        else:
            assert view[name] == value, (view["employee_id"], name)


async def mentors_and_mentees_fill_in_their_profiles(j: Journey) -> None:
    answers = await gather_limited(
        j.call("PATCH", "profiles", f"/v1/profiles/{employee_id}", sub=employee_id, json=patch)
        for employee_id, patch in j.patches.items()
    )
    for (employee_id, patch), view in zip(j.patches.items(), answers, strict=True):
        _matches_patch(view, patch)
        assert view["version"] == 2 and view["email"] == j.email_of(employee_id)

    stored = {p["employee_id"]: p for p in await j.all_profiles()}
    for employee_id, patch in j.patches.items():
        _matches_patch(stored[employee_id], patch)
    untouched = [e.employee_id for e in j.org if e.employee_id not in j.patches]
    assert untouched and all(stored[i]["roles"] == [] and stored[i]["version"] == 1 for i in untouched)
    assert [p["employee_id"] for p in await j.all_profiles(role="mentor")] == j.mentors

    # Nobody edits someone else's profile: not a colleague, not a program admin.
    victim, intruder = j.mentors[0], j.mentees[0]
    await j.call(
        "PATCH", "profiles", f"/v1/profiles/{victim}", sub=intruder, json={"mentor_capacity": 10}, expect=403
    )
    await j.as_admin("PATCH", "profiles", f"/v1/profiles/{victim}", json={"roles": []}, expect=403)
    await j.call("GET", "profiles", f"/v1/profiles/{victim}", sub=intruder, expect=403)
    after = await j.call("GET", "profiles", f"/v1/profiles/{victim}", sub=victim)
    assert after["version"] == 2 and after["mentor_capacity"] == j.capacity_of(victim)

    # Every change was published once; matching has them all before anyone asks it anything.
    published = EMPLOYEES + len(j.patches)
    await j.consumed("tandem-matching", topics.PROFILES, at_least=published)
    events = await j.events(topics.PROFILES, lambda found: len(found) >= published)
    assert Counter(e["type"] for e in events) == {
        "profile.registered": EMPLOYEES,
        "profile.updated": len(j.patches),
    }
    assert Counter(e["key"] for e in events if e["type"] == "profile.updated") == dict.fromkeys(j.patches, 1)


# --- step 3 ---------------------------------------------------------------------------------


def _check_suggestion(j: Journey, mentee: str, suggestion: dict[str, Any]) -> None:
    mentor = suggestion["mentor_id"]
    assert mentor in j.patches and "mentor" in j.patches[mentor]["roles"], (mentee, mentor)
    assert mentor != mentee and mentor not in j.reporting_line(mentee), (mentee, mentor)
    assert set(j.people[mentor].languages or []) & set(j.people[mentee].languages or [])
    assert 0.0 <= suggestion["score"] <= 1.0
    weighted = sum(WEIGHTS[name] * value for name, value in suggestion["breakdown"].items())
    assert suggestion["score"] == pytest.approx(weighted, abs=2e-3), suggestion
    assert suggestion["reasons"], suggestion


async def mentees_pick_mentors_who_accept(j: Journey) -> None:
    teachers: dict[str, set[str]] = defaultdict(set)
    for mentor in j.mentors:
        for skill in j.patches[mentor]["skills"]:
            teachers[skill["name"]].add(mentor)
    learners = [m for m in j.mentees if any(teachers[g["name"]] for g in j.patches[m]["goals"])]
    assert len(learners) >= REQUESTERS
    askers = learners[:REQUESTERS]

    # Before anyone asks, nothing is pending: suggestions are ranked by their raw score.
    suggested = dict(zip(askers, await gather_limited(j.suggestions(m) for m in askers), strict=True))
    for mentee, suggestions in suggested.items():
        assert suggestions, f"{mentee} has goals some mentor teaches but no suggestion"
        assert len({s["mentor_id"] for s in suggestions}) == len(suggestions)
        for suggestion in suggestions:
            _check_suggestion(j, mentee, suggestion)
        scores = [s["score"] for s in suggestions]
        assert scores == sorted(scores, reverse=True), mentee
        assert any(r.startswith("covers ") for s in suggestions for r in s["reasons"]), mentee

    # Each asker requests the best suggested mentor nobody else in this step asked.
    chosen: dict[str, dict[str, Any]] = {}
    for mentee in askers:
        pick = next(
            s for s in suggested[mentee] if s["mentor_id"] not in {c["mentor_id"] for c in chosen.values()}
        )
        message = f"Hello {j.name_of(pick['mentor_id'])}, I would love to learn from you."
        body = {"mentee_id": mentee, "mentor_id": pick["mentor_id"], "message": message}
        proposal = await j.call("POST", "matching", "/v1/mentorships", sub=mentee, json=body, expect=201)
        assert proposal["status"] == "proposed" and proposal["origin"] == "request"
        assert (proposal["mentee_id"], proposal["mentor_id"]) == (mentee, pick["mentor_id"])
        assert proposal["score"] == pytest.approx(pick["score"], abs=1e-3)
        assert proposal["reasons"] == pick["reasons"] and proposal["message"] == message
        chosen[mentee] = proposal

    # What the rules refuse.
    first = askers[0]
    mentorship = chosen[first]
    again = {"mentee_id": first, "mentor_id": mentorship["mentor_id"]}
    refused = await j.call("POST", "matching", "/v1/mentorships", sub=first, json=again, expect=409)
    assert refused["detail"]["reason"] == "already_open"
    await j.call("POST", "matching", "/v1/mentorships", sub=askers[1], json=again, expect=403)
    await j.call(
        "POST", "matching", f"/v1/mentorships/{mentorship['mentorship_id']}/accept", sub=first, expect=403
    )
    in_line = next(
        (mentee, manager)
        for mentee in j.mentees
        for manager in sorted(j.reporting_line(mentee))
        if manager in j.mentors and manager not in {c["mentor_id"] for c in chosen.values()}
    )
    body = {"mentee_id": in_line[0], "mentor_id": in_line[1]}
    refused = await j.call("POST", "matching", "/v1/mentorships", sub=in_line[0], json=body, expect=409)
    assert refused["detail"]["reason"] == "reporting_line_only"

    # The mentors accept.
    for mentee, proposal in chosen.items():
        accepted = await j.call(
            "POST",
            "matching",
            f"/v1/mentorships/{proposal['mentorship_id']}/accept",
            sub=proposal["mentor_id"],
        )
        assert accepted["status"] == "accepted" and accepted["accepted_at"]
        mine = await j.call("GET", "matching", "/v1/mentorships", sub=mentee, params={"employee_id": mentee})
        assert [(m["mentorship_id"], m["status"]) for m in mine["items"]] == [
            (proposal["mentorship_id"], "accepted")
        ]
        j.requested[mentee] = accepted

    ids = {p["mentorship_id"] for p in chosen.values()}

    def both_events(found: list[dict[str, Any]]) -> bool:
        return {(e["key"], e["type"]) for e in found} >= {
            (i, t) for i in ids for t in ("mentorship.proposed", "mentorship.accepted")
        }

    events = [e for e in await j.events(topics.MENTORSHIPS, both_events) if e["key"] in ids]
    assert Counter(e["type"] for e in events) == {
        "mentorship.proposed": REQUESTERS,
        "mentorship.accepted": REQUESTERS,
    }
    event_of = {(e["key"], e["type"]): e for e in events}

    def told() -> bool:
        return all(
            len(
                j.mail.of(
                    "mentorship_requested",
                    event_id=event_of[(p["mentorship_id"], "mentorship.proposed")]["id"],
                )
            )
            == 1
            and len(
                j.mail.of(
                    "mentorship_accepted",
                    event_id=event_of[(p["mentorship_id"], "mentorship.accepted")]["id"],
                )
            )
            == 2
            for p in chosen.values()
        )

    await j.emails("request and acceptance emails", told)
    for mentee, p in chosen.items():
        mentor, mid = p["mentor_id"], p["mentorship_id"]
        [request] = j.mail.of("mentorship_requested", event_id=event_of[(mid, "mentorship.proposed")]["id"])
        assert request.to == j.email_of(mentor)
        assert request.subject == f"{j.name_of(mentee)} asks you to be their mentor"
        assert p["message"] in request.text and f"/mentorships/{mid}" in request.text
        accepted = j.mail.of("mentorship_accepted", event_id=event_of[(mid, "mentorship.accepted")]["id"])
        assert sorted((e.to, e.subject) for e in accepted) == sorted(
            [
                (j.email_of(mentor), f"Your mentorship with {j.name_of(mentee)} has started"),
                (j.email_of(mentee), f"Your mentorship with {j.name_of(mentor)} has started"),
            ]
        )
    assert not [e for e in j.mail.of("mentorship_requested") if e.to in {j.email_of(m) for m in chosen}]


# --- step 4 ---------------------------------------------------------------------------------


async def an_admin_runs_a_program_round(j: Journey) -> None:
    spec = {"name": "Journey cohort", "description": "everyone who has not found a mentor yet"}
    await j.call("POST", "matching", "/v1/programs", sub=j.mentees[0], json=spec, expect=403)
    program = await j.as_admin("POST", "matching", "/v1/programs", json=spec, expect=201)
    pid = program["program_id"]
    assert program["admin_ids"] == [j.admin] and program["objective"] == "score"

    waiting = [m for m in j.mentees if m not in j.requested]
    enrolled = await j.as_admin(
        "POST",
        "matching",
        f"/v1/programs/{pid}/enrollments",
        json={"mentee_ids": waiting, "mentor_ids": j.mentors},
    )
    assert enrolled["mentee_ids"] == waiting and enrolled["mentor_ids"] == j.mentors

    # The round answers when it has proposed every pair: give it longer than a plain request.
    began = asyncio.get_running_loop().time()
    report = await j.as_admin("POST", "matching", f"/v1/programs/{pid}/rounds", expect=201, timeout=300)
    print(f"  the round: {asyncio.get_running_loop().time() - began:.1f}s")
    assert report["status"] == "completed" and report["program_id"] == pid
    pairs, unmatched = report["pairs"], report["unmatched"]
    matched_mentees = [p["mentee_id"] for p in pairs]
    assert report["matched"] == len(pairs) > len(waiting) // 2
    assert len(set(matched_mentees)) == len(matched_mentees), "no mentee is matched twice"
    assert set(matched_mentees) | {u["mentee_id"] for u in unmatched} == set(waiting)
    assert not set(matched_mentees) & {u["mentee_id"] for u in unmatched}
    assert report["unmatched_reasons"] == dict(Counter(u["reason"] for u in unmatched))
    taken = Counter(p["mentor_id"] for p in j.requested.values()) + Counter(p["mentor_id"] for p in pairs)
    for mentor, seats in taken.items():
        assert seats <= j.capacity_of(mentor), f"{mentor}: {seats} mentees, capacity {j.capacity_of(mentor)}"
    for pair in pairs:
        assert pair["mentor_id"] in j.mentors and pair["mentor_id"] not in j.reporting_line(pair["mentee_id"])
    scores = [p["score"] for p in pairs]
    assert report["total_score"] == pytest.approx(sum(scores), abs=1e-3)
    assert report["mean_score"] == pytest.approx(sum(scores) / len(scores), abs=1e-3)
    assert report["min_score"] == pytest.approx(min(scores), abs=1e-4)
    assert sum(int(load) * mentors for load, mentors in report["mentor_load"].items()) == len(pairs)
    stored = await j.as_admin("GET", "matching", f"/v1/programs/{pid}/rounds/{report['round_id']}")
    times = ("started_at", "completed_at")  # the store keeps milliseconds
    assert {k: v for k, v in stored.items() if k not in times} == {
        k: v for k, v in report.items() if k not in times
    }

    # The proposals are mentorships of the program, and capacity holds over everything open.
    open_now = await j.open_mentorships()
    from_round = {(m["mentee_id"], m["mentor_id"]) for m in open_now if m["origin"] == "round"}
    assert from_round == {(p["mentee_id"], p["mentor_id"]) for p in pairs}
    assert all(
        m["program_id"] == pid and m["round_id"] == report["round_id"]
        for m in open_now
        if m["origin"] == "round"
    )
    load = Counter(m["mentor_id"] for m in open_now)
    assert all(load[mentor] <= j.capacity_of(mentor) for mentor in load)

    # A round proposal is answered by the mentee, not the mentor.
    proposal_of = {m["mentee_id"]: m for m in open_now if m["origin"] == "round"}
    sample = proposal_of[pairs[0]["mentee_id"]]
    await j.call(
        "POST",
        "matching",
        f"/v1/mentorships/{sample['mentorship_id']}/accept",
        sub=sample["mentor_id"],
        expect=403,
    )

    # The events and the emails: both sides of every pair, the round report to the admin.
    programs = await j.events(
        topics.PROGRAMS,
        lambda found: {e["type"] for e in found} >= {"program.created", "program.round_completed"},
    )
    assert [(e["type"], e["key"]) for e in programs] == [
        ("program.created", pid),
        ("program.round_completed", pid),
    ]
    completed = programs[1]["data"]
    assert completed["matched"] == report["matched"] and completed["unmatched"] == len(unmatched)
    ids = {m["mentorship_id"] for m in proposal_of.values()}
    proposed = await j.events(
        topics.MENTORSHIPS,
        lambda found: ids <= {e["key"] for e in found if e["type"] == "mentorship.proposed"},
    )
    event_id = {e["key"]: e["id"] for e in proposed if e["key"] in ids}

    def told() -> bool:
        return all(len(j.mail.of("mentorship_proposed", event_id=event_id[i])) == 2 for i in ids) and bool(
            j.mail.of("round_completed", to=j.email_of(j.admin))
        )

    await j.emails("round proposal and report emails", told)
    lead = "The program round suggests a mentoring pair"
    for m in proposal_of.values():
        emails = j.mail.of("mentorship_proposed", event_id=event_id[m["mentorship_id"]])
        assert sorted((e.to, e.subject) for e in emails) == sorted(
            [
                (j.email_of(m["mentor_id"]), f"{lead}: {j.name_of(m['mentee_id'])}"),
                (j.email_of(m["mentee_id"]), f"{lead}: {j.name_of(m['mentor_id'])}"),
            ]
        )
    [summary] = j.mail.of("round_completed", to=j.email_of(j.admin))
    assert summary.subject == (
        "Matching round completed for Journey cohort: "
        f"{report['matched']} matched, {len(unmatched)} unmatched"
    )
    assert f"Matched: {report['matched']}" in summary.text

    # The mentor with the most mentees will leave in step 5; one of their round mentees accepts.
    seats = Counter(p["mentor_id"] for p in j.requested.values()) + Counter(p["mentor_id"] for p in pairs)
    j.leaver = max(
        (m for m in seats if m != j.admin and any(p["mentor_id"] == m for p in pairs)),
        key=lambda m: (seats[m], m),
    )
    first = next(m for m in proposal_of.values() if m["mentor_id"] == j.leaver)
    accepted = await j.call(
        "POST", "matching", f"/v1/mentorships/{first['mentorship_id']}/accept", sub=first["mentee_id"]
    )
    assert accepted["status"] == "accepted"


# --- step 5 ---------------------------------------------------------------------------------


async def a_mentor_leaves_and_their_mentees_get_new_proposals(j: Journey) -> None:
    leaver = j.leaver
    before = [m for m in await j.mentorships_of(leaver) if m["status"] in OPEN]
    assert {m["status"] for m in before} >= {"accepted"} and len(before) >= 2
    mentees = {m["mentee_id"] for m in before}
    await j.publish_hr((EmployeeLeft(employee_id=leaver, last_day=date.today()), datetime.now(UTC)))

    async def released() -> list[dict[str, Any]] | None:
        mine = {m["mentorship_id"]: m for m in await j.mentorships_of(leaver)}
        ended = [mine[m["mentorship_id"]] for m in before]
        return ended if all(m["status"] == "ended" for m in ended) else None

    ended = await wait_for(released, "the leaver's mentorships ended")
    assert all(m["reason"] == "mentor_left" and m["ended_at"] for m in ended)
    profile = await j.as_hr("GET", "profiles", f"/v1/profiles/{leaver}")
    assert profile["status"] == "inactive" and profile["email"] == j.email_of(leaver)

    async def reproposed() -> dict[str, dict[str, Any]] | None:
        found: dict[str, dict[str, Any]] = {}
        for mentee in mentees:
            for m in await j.mentorships_of(mentee):
                if m["origin"] == "reproposal":
                    found[m["replaces_mentorship_id"]] = m
        return found if set(found) == {m["mentorship_id"] for m in ended} else None

    new = await wait_for(reproposed, "a new proposal for each of the leaver's mentees")
    for old in ended:
        fresh = new[old["mentorship_id"]]
        assert fresh["mentee_id"] == old["mentee_id"] and fresh["status"] == "proposed"
        assert fresh["mentor_id"] not in (leaver, old["mentee_id"])
        assert fresh["mentor_id"] in j.mentors and fresh["mentor_id"] not in j.reporting_line(
            old["mentee_id"]
        )
        assert fresh["program_id"] == old["program_id"] and fresh["reasons"]
    load = Counter(m["mentor_id"] for m in await j.open_mentorships())
    assert leaver not in load
    assert all(load[mentor] <= j.capacity_of(mentor) for mentor in load)
    for mentee in sorted(mentees)[:3]:
        assert leaver not in {s["mentor_id"] for s in await j.suggestions(mentee, limit=50)}

    profile_events = await j.events(
        topics.PROFILES,
        lambda found: any(e["type"] == "profile.deactivated" and e["key"] == leaver for e in found),
    )
    [deactivated] = [e for e in profile_events if e["type"] == "profile.deactivated"]
    assert deactivated["data"]["status"] == "inactive"

    ended_ids = {m["mentorship_id"] for m in ended}
    new_ids = {m["mentorship_id"] for m in new.values()}
    events = await j.events(
        topics.MENTORSHIPS,
        lambda found: (
            ended_ids <= {e["key"] for e in found if e["type"] == "mentorship.ended"}
            and new_ids <= {e["key"] for e in found if e["type"] == "mentorship.proposed"}
        ),
    )
    ended_event = {e["key"]: e for e in events if e["type"] == "mentorship.ended" and e["key"] in ended_ids}
    proposed_event = {
        e["key"]: e for e in events if e["type"] == "mentorship.proposed" and e["key"] in new_ids
    }
    assert all(e["data"]["reason"] == "mentor_left" for e in ended_event.values())

    def told() -> bool:
        return all(
            j.mail.of(
                "mentorship_ended",
                to=j.email_of(m["mentee_id"]),
                event_id=ended_event[m["mentorship_id"]]["id"],
            )
            and len(
                j.mail.of(
                    "mentorship_proposed",
                    event_id=proposed_event[new[m["mentorship_id"]]["mentorship_id"]]["id"],
                )
            )
            == 2
            for m in ended
        )

    await j.emails("the mentees hear their mentor left and get a new suggestion", told)
    for old in ended:
        mentee, fresh = old["mentee_id"], new[old["mentorship_id"]]
        [gone] = j.mail.of(
            "mentorship_ended", to=j.email_of(mentee), event_id=ended_event[old["mentorship_id"]]["id"]
        )
        assert gone.subject == f"Your mentorship with {j.name_of(leaver)} has ended"
        assert "your mentor has left; a new suggestion is on its way" in gone.text
        emails = j.mail.of("mentorship_proposed", event_id=proposed_event[fresh["mentorship_id"]]["id"])
        assert sorted((e.to, e.subject) for e in emails) == sorted(
            [
                (
                    j.email_of(mentee),
                    f"Your mentor has left; here is a new suggestion: {j.name_of(fresh['mentor_id'])}",
                ),
                (
                    j.email_of(fresh["mentor_id"]),
                    f"A mentee whose mentor left has been suggested to you: {j.name_of(mentee)}",
                ),
            ]
        )

    # The new proposal is answered by the mentee like any system proposal.
    fresh = new[ended[0]["mentorship_id"]]
    answer = await j.call(
        "POST", "matching", f"/v1/mentorships/{fresh['mentorship_id']}/accept", sub=fresh["mentee_id"]
    )
    assert answer["status"] == "accepted"


# --- step 6 ---------------------------------------------------------------------------------


async def a_leaver_past_retention_is_erased(j: Journey) -> None:
    watcher = next(iter(j.requested))
    busy = {m["mentor_id"] for m in await j.open_mentorships()}
    suggested = [s["mentor_id"] for s in await j.suggestions(watcher, limit=50)]
    candidates = [m for m in suggested if m not in (j.admin, j.leaver)]
    erased = next((m for m in candidates if m not in busy), candidates[0])
    inbox = await j.call("GET", "notifications", f"/v1/employees/{erased}/notifications", sub=erased)
    assert len(inbox["items"]) >= 2

    # HR reports the departure late: they left two days ago, past the one-day retention.
    await j.publish_hr((EmployeeLeft(employee_id=erased), datetime.now(UTC) - timedelta(days=2)))

    async def gone() -> dict[str, Any] | None:
        profile = await j.as_hr("GET", "profiles", f"/v1/profiles/{erased}")
        return profile if profile["status"] == "erased" else None

    profile = await wait_for(gone, "the leaver erased after retention")
    personal = ("email", "display_name", "department", "job_title", "manager_id", "location", "timezone")
    assert all(profile[name] is None for name in personal), profile
    assert profile["languages"] == [] and profile["skills"] == [] and profile["roles"] == []
    assert profile["start_date"] is None and profile["bio"] is None
    assert [p["employee_id"] for p in await j.all_profiles(status="erased")] == [erased]

    events = await j.events(
        topics.PROFILES,
        lambda found: any(e["type"] == "profile.erased" and e["key"] == erased for e in found),
    )
    [event] = [e for e in events if e["type"] == "profile.erased"]
    assert event["data"]["status"] == "erased"
    assert all(event["data"].get(name) is None for name in personal), event["data"]
    assert j.email_of(erased) not in json.dumps(event["data"])

    async def inbox_gone() -> bool:
        answer = await j.call("GET", "notifications", f"/v1/employees/{erased}/notifications", sub=erased)
        return answer["items"] == [] and answer["unread_count"] == 0

    await wait_for(inbox_gone, "the erased employee's inbox deleted")
    await j.call("GET", "notifications", f"/v1/employees/{erased}/preferences", sub=erased, expect=404)

    async def not_suggested() -> bool:
        return erased not in {s["mentor_id"] for s in await j.suggestions(watcher, limit=50)}

    await wait_for(not_suggested, "matching stops suggesting the erased mentor")
    for mentee in list(j.requested)[1:4]:
        assert erased not in {s["mentor_id"] for s in await j.suggestions(mentee, limit=50)}
    body = {"mentee_id": watcher, "mentor_id": erased}
    await j.call("POST", "matching", "/v1/mentorships", sub=watcher, json=body, expect=404)

    # The mentor who left today is still within retention: deactivated, not erased.
    kept = await j.as_hr("GET", "profiles", f"/v1/profiles/{j.leaver}")
    assert kept["status"] == "inactive" and kept["email"] == j.email_of(j.leaver)


# --- the whole journey ----------------------------------------------------------------------


async def test_an_organisation_joins_matches_mentors_and_mentees_and_its_leavers_are_released_and_erased(
    journey: Journey,
):
    steps = (
        an_organisation_joins,
        mentors_and_mentees_fill_in_their_profiles,
        mentees_pick_mentors_who_accept,
        an_admin_runs_a_program_round,
        a_mentor_leaves_and_their_mentees_get_new_proposals,
        a_leaver_past_retention_is_erased,
    )
    loop = asyncio.get_running_loop()
    for number, step in enumerate(steps, start=1):
        began = loop.time()
        await step(journey)
        print(f"step {number} {step.__name__}: {loop.time() - began:.1f}s")  # progress, never asserted

    # Over the whole journey: one email per delivery, every join welcomed exactly once,
    # and no event was dead-lettered.
    emails = journey.mail.all()
    assert len({e.delivery_id for e in emails}) == len(emails)
    kinds = Counter(e.kind for e in emails)
    assert kinds["welcome"] == kinds["complete_profile"] == EMPLOYEES
    report = await kafka_report(
        journey.platform.bootstrap,
        topic_prefix=journey.platform.env["TANDEM_KAFKA_TOPIC_PREFIX"],
        group_prefix=journey.platform.env["TANDEM_KAFKA_GROUP_PREFIX"],
    )
    assert report.dead_letters and not any(report.dead_letters.values()), report.dead_letters
