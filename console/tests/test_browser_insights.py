"""A program admin reads the program's health and outcomes in a real browser, on the real stack.

Five pairs of a program: two stay open (one met, two fit answers: withheld), three end and
their mentees answer the final assessment (three answers: shown). The admin sorts the pairs,
keeps a note, nudges a pair, reads the outcome charts, downloads the CSV files through the
console, and `tandem report` prints the same figures.
"""

import asyncio
import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.async_api import expect
from pymongo import AsyncMongoClient
from tandem_chassis import AggregateStore
from tandem_chassis.auth import mint_dev_token
from tandem_chassis.testing import Platform, eventually, publish_event
from tandem_cli.main import app as cli
from tandem_contracts import MentorshipAccepted, MentorshipEnded, RelationshipOutcomeRecorded, topics
from tandem_matching.adapters.mentorships import MongoMentorships
from tandem_matching.domain.components import COMPONENTS
from tandem_matching.domain.mentorship import Mentorship
from tandem_matching.domain.suggestions import Explanation
from typer.testing import CliRunner

from console.tests.test_browser import assert_accessible_basics, dev_login, person, seed

pytestmark = pytest.mark.e2e

ADMIN = "admin-h"
NAMES = {1: "Ada Lovelace", 2: "Grace Hopper", 3: "Alan Turing", 4: "Edsger Dijkstra", 5: "Barbara Liskov"}
FINALS = {3: ("yes", 10, 5), 4: ("partly", 9, 4), 5: ("no", 3, 2)}  # goals, recommend, satisfaction


def pair(n: int, program_id: str, at: datetime) -> dict[str, Any]:
    return {
        "mentorship_id": f"m-{n}",
        "mentor_id": f"mentor-{n}",
        "mentee_id": f"mentee-{n}",
        "program_id": program_id,
        "accepted_at": at,
    }


class Api:
    def __init__(self, platform: Platform, client: httpx.AsyncClient) -> None:
        self.platform, self.client = platform, client

    def auth(self, sub: str, *roles: str) -> dict[str, str]:
        token = mint_dev_token(
            self.platform.env["TANDEM_JWT_SECRET"], sub=sub, roles=list(roles or ["employee"])
        )
        return {"Authorization": f"Bearer {token}"}

    async def relationships(self, method: str, path: str, sub: str, *roles: str, **body: Any) -> Any:
        answer = await self.client.request(
            method,
            f"{self.platform['relationships'].url}{path}",
            json=body or None,
            headers=self.auth(sub, *roles),
        )
        assert answer.status_code < 300, answer.text
        return answer.json()


async def build_program(platform: Platform, api: Api) -> str:
    await seed(
        platform,
        *(person(f"mentee-{n}", NAMES[n], 2) for n in NAMES),
        *(person(f"mentor-{n}", f"Mentor of {NAMES[n].split()[0]}", 5) for n in NAMES),
    )
    created = await api.client.post(
        f"{platform['matching'].url}/v1/programs",
        json={"name": "Autumn cohort"},
        headers=api.auth(ADMIN, "program_admin"),
    )
    program_id: str = created.json()["program_id"]
    start = datetime.now(UTC) - timedelta(days=10)
    await publish_event(
        platform.bootstrap,
        platform.topic(topics.MENTORSHIPS),
        *(MentorshipAccepted(**pair(n, program_id, start), status="accepted") for n in NAMES),
        source="/matching/test",
    )

    async def all_open() -> bool:
        answer = await api.client.get(
            f"{platform['relationships'].url}/v1/programs/{program_id}/health",
            headers=api.auth(ADMIN, "program_admin"),
        )
        rows = answer.json().get("pairs", []) if answer.status_code == 200 else []
        return len(rows) == 5 and all(row["mentee_name"] for row in rows)

    await eventually(all_open, "five named pairs in the program's health", 60)
    held = {
        "starts_at": (start + timedelta(days=3)).isoformat(),
        "minutes": 60,
        "log": {"happened": True, "minutes": 60},
    }
    await api.relationships("POST", "/v1/mentorships/m-1/sessions", "mentee-1", **held)
    for who in ("mentee-1", "mentor-1"):
        await api.relationships("POST", "/v1/mentorships/m-1/feedback", who, kind="fit", fit="good")
    ended = datetime.now(UTC)
    await publish_event(
        platform.bootstrap,
        platform.topic(topics.MENTORSHIPS),
        *(
            MentorshipEnded(**pair(n, program_id, start), status="ended", reason="completed", ended_at=ended)
            for n in FINALS
        ),
        source="/matching/test",
    )

    async def three_closed() -> bool:
        outcomes = await api.relationships(
            "GET", f"/v1/programs/{program_id}/outcomes", ADMIN, "program_admin"
        )
        return bool(outcomes["ended"]["completed"] == 3)

    await eventually(three_closed, "three mentorships completed", 60)
    for n, (goals, recommend, satisfaction) in FINALS.items():
        await api.relationships(
            "POST",
            f"/v1/mentorships/m-{n}/feedback",
            f"mentee-{n}",
            kind="final",
            goals_achieved=goals,
            would_recommend=recommend,
            satisfaction=satisfaction,
            comment=f"comment of mentee {n}",
        )
    return program_id


async def test_an_admin_reads_health_and_outcomes_keeps_a_note_nudges_and_downloads_the_csv(
    platform: Platform, console_on, new_context, shoot
):
    base = console_on.url
    async with httpx.AsyncClient(timeout=30) as client:
        program_id = await build_program(platform, Api(platform, client))
    page = await (await new_context()).new_page()
    await dev_login(page, base, ADMIN, "program_admin")
    await page.goto(f"{base}/admin/programs/{program_id}")
    await page.get_by_role("link", name="Health: pairs, sessions, pulse, admin notes, nudges").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("Health of Autumn cohort")
    states = page.locator("svg#chart-health rect.bar")
    await expect(states).to_have_count(3)
    assert sum(map(int, await states.evaluate_all("bars => bars.map(b => b.dataset.value)"))) == 2
    await expect(page.locator("#sessions-total")).to_contain_text("1 ")
    await expect(page.locator("[data-withheld='fit answers']")).to_contain_text(
        "fewer than 3 answers (2 so far)"
    )
    assert await page.locator("svg#chart-fit").count() == 0
    await expect(page.locator("[data-withheld='pulse survey']")).to_contain_text("no answers yet")
    rows = page.locator("table.health-pairs tbody tr")
    await expect(rows).to_have_count(2)
    await page.get_by_label("Sort by").select_option("fewest_sessions")
    await page.get_by_role("button", name="Sort").click()
    await expect(rows.first.locator("th")).to_have_text(NAMES[2])  # no session yet: first
    await expect(rows.nth(1).locator("th")).to_have_text(NAMES[1])
    await assert_accessible_basics(page)
    await shoot(page, "program-health")

    ada = page.locator("tr[data-mentorship-id='m-1']")
    await ada.locator("summary").click()
    await ada.get_by_label("Admin note (admins only)").fill("Spoke to both: all good.")
    await ada.get_by_role("button", name="Add note").click()
    await expect(page.locator(".flash-ok")).to_have_text("Note added.")
    await expect(page.locator("tr[data-mentorship-id='m-1'] .admin-notes")).to_contain_text(
        "Spoke to both: all good."
    )
    grace = page.locator("tr[data-mentorship-id='m-2']")
    await grace.locator("summary").click()
    await grace.get_by_label("Message with the nudge (optional)").fill("Time to meet?")
    await grace.get_by_role("button", name="Nudge this pair").click()
    await expect(page.locator(".flash-ok")).to_have_text("Nudge sent to both of the pair.")

    await page.get_by_role("link", name="Outcomes", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Outcomes of Autumn cohort")
    await expect(page.locator("#ended-completed")).to_have_text("3")
    for label, value in (("yes", "33.30"), ("partly", "33.30"), ("no", "33.30")):
        bar = page.locator(f"svg#chart-goals rect.bar[data-label='{label}']")
        await expect(bar).to_have_attribute("data-value", value)
    await expect(page.locator("#recommend-score")).to_have_text("33.3")  # 2 promoters, 1 detractor
    await expect(page.locator("svg#chart-recommend rect.bar[data-label='detractors']")).to_have_attribute(
        "data-value", "1"
    )
    await expect(page.locator("#satisfaction-final_mean")).to_contain_text("3.67 from 3 answers")
    assert await page.locator("table.chart-data").count() == 3  # goals, satisfaction, recommend
    await assert_accessible_basics(page)
    await shoot(page, "program-outcomes")

    async with page.expect_download() as pairs_download:
        await page.get_by_role("link", name="Pairs (CSV)").click()
    pairs = list(csv.DictReader(io.StringIO((await (await pairs_download.value).path()).read_text("utf-8"))))
    assert {row["mentee_name"] for row in pairs} == set(NAMES.values())
    async with page.expect_download() as feedback_download:
        await page.get_by_role("link", name="Feedback (CSV)").click()
    feedback = (await (await feedback_download.value).path()).read_text("utf-8")
    assert "comment of mentee 4" in feedback

    await page.get_by_role("link", name="Learned weights").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Learned weights for Autumn cohort")
    # No outcome was recorded against a matching proposal here: the service says how many more.
    await expect(page.locator("#weights-insufficient")).to_contain_text("30 more")
    assert await page.get_by_role("button", name="Apply the proposed weights to this program").count() == 0
    await assert_accessible_basics(page)
    await shoot(page, "program-weights")

    args = ["report", program_id, "--admin", ADMIN, "--secret", platform.env["TANDEM_JWT_SECRET"]]
    args += ["--relationships-url", platform["relationships"].url, "--matching-url", platform["matching"].url]
    result = await asyncio.to_thread(CliRunner().invoke, cli, args, env={"COLUMNS": "200"})
    print(result.output)
    assert result.exit_code == 0, result.output
    assert NAMES[1] in result.output and "Spoke" not in result.output  # notes counted, not printed
    assert "33% / 33% / 33%" in result.output
    assert "fewer than 3 answers (2 so far)" in next(
        line for line in result.output.splitlines() if "fit answers" in line
    )
    assert "+33.3 from 3 answers" in result.output
    assert re.search(r"more needed\s*│\s*30", result.output), result.output
    assert "no answers yet" in next(line for line in result.output.splitlines() if "pulse (mean" in line)
    assert "30" in next(line for line in result.output.splitlines() if "more needed" in line)


async def proposed_with_outcomes(platform: Platform, program_id: str, count: int) -> None:
    """`count` mentorships of the program as matching proposes them (each with its breakdown, in
    matching's own store), and their recorded outcomes on the broker: goal fit drives the outcome."""
    rng = np.random.default_rng(7)
    client: AsyncMongoClient[Any] = AsyncMongoClient(platform.env["TANDEM_MONGODB_URI"])
    store = AggregateStore(
        client[platform.database("matching")]["mentorships"],
        source="/tandem/matching",
        topic_prefix=platform.env["TANDEM_KAFKA_TOPIC_PREFIX"],
    )
    outcomes = []
    try:
        for i in range(count):
            values = rng.uniform(size=len(COMPONENTS)).round(4).tolist()
            breakdown = dict(zip(COMPONENTS, values, strict=True))
            mentorship = Mentorship.proposal(
                f"{program_id}-m{i}",
                mentor_id=f"learn-mentor-{i}",
                mentee_id=f"learn-mentee-{i}",
                origin="round",
                score=sum(breakdown.values()) / len(breakdown),
                explanation=Explanation(breakdown, []),
                at=datetime.now(UTC) - timedelta(days=200),
                expiry=timedelta(days=7),
                program_id=program_id,
            )
            assert await MongoMentorships(store).add(mentorship)
            good = breakdown["goal_fit"] > 0.5
            outcomes.append(
                RelationshipOutcomeRecorded(
                    mentorship_id=mentorship.mentorship_id,
                    mentor_id=mentorship.mentor_id,
                    mentee_id=mentorship.mentee_id,
                    program_id=program_id,
                    goals_achieved="yes" if good else "no",
                    would_recommend=int(rng.integers(8, 11) if good else rng.integers(0, 5)),
                    final_satisfaction=int(rng.integers(4, 6) if good else rng.integers(1, 3)),
                    recorded_at=datetime.now(UTC),
                )
            )
    finally:
        await client.close()
    await publish_event(
        platform.bootstrap, platform.topic(topics.RELATIONSHIPS), *outcomes, source="tandem-relationships"
    )


async def test_an_admin_reads_the_learned_weights_and_applies_them_to_the_program(
    platform: Platform, console_on, new_context, shoot
):
    base, admin = console_on.url, Api(platform, httpx.AsyncClient(timeout=30))
    async with admin.client as client:
        created = await client.post(
            f"{platform['matching'].url}/v1/programs",
            json={"name": "Learning cohort"},
            headers=admin.auth(ADMIN, "program_admin"),
        )
        program_id = created.json()["program_id"]
        await proposed_with_outcomes(platform, program_id, 30)
        learned_url = f"{platform['matching'].url}/v1/programs/{program_id}/weights/learned"

        async def ready() -> bool:
            answer = await client.get(learned_url, headers=admin.auth(ADMIN, "program_admin"))
            return bool(answer.json().get("status") == "ready")

        await eventually(ready, "30 outcomes learned from", 60)
        learned = (await client.get(learned_url, headers=admin.auth(ADMIN, "program_admin"))).json()

        page = await (await new_context()).new_page()
        await dev_login(page, base, ADMIN, "program_admin")
        await page.goto(f"{base}/admin/programs/{program_id}/weights")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Learned weights for Learning cohort")
        await expect(page.locator("#outcomes-used")).to_contain_text("30 (this program)")
        await expect(page.locator("#weights-verdict")).to_have_text(learned["verdict"])
        rows = page.locator("table#components tbody tr")
        await expect(rows).to_have_count(len(COMPONENTS))
        goal_fit = next(c for c in learned["components"] if c["name"] == "goal_fit")
        low, high = goal_fit["ci90"]
        await expect(page.locator("tr[data-component='goal_fit'] td").nth(1)).to_have_text(
            f"{low:.3f} to {high:.3f}"
        )
        await expect(page.locator("svg#chart-weights-proposed rect.bar")).to_have_count(len(COMPONENTS))
        await assert_accessible_basics(page)
        await shoot(page, "program-weights-ready")

        args = ["report", program_id, "--admin", ADMIN, "--secret", platform.env["TANDEM_JWT_SECRET"]]
        args += ["--relationships-url", platform["relationships"].url]
        args += ["--matching-url", platform["matching"].url]
        result = await asyncio.to_thread(CliRunner().invoke, cli, args, env={"COLUMNS": "200"})
        print(result.output)
        assert result.exit_code == 0, result.output
        assert "Learned weights (30 outcomes, scope program)" in result.output
        printed = next(line for line in result.output.splitlines() if "goal_fit" in line)
        assert f"[{low:+.3f}, {high:+.3f}]" in printed and "yes" in printed

        await page.get_by_role("button", name="Apply the proposed weights to this program").click()
        await expect(page.locator(".flash-ok")).to_have_text(
            "The proposed weights now apply to this program's next rounds."
        )
        program_url = f"{platform['matching'].url}/v1/programs/{program_id}"
        program = (await client.get(program_url, headers=admin.auth(ADMIN, "program_admin"))).json()
        assert program["weights"] == pytest.approx(learned["proposed_weights"])
        assert program["weights"] != pytest.approx(learned["current_weights"]), "the defaults were replaced"
