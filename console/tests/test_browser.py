"""The console in a real headless Chromium, against the three services as processes.

Employees sign in with the dev login, fill their profiles, get suggestions, request and accept
a mentorship and read the notification; an admin runs a program round and reads its charts;
in prod the dev login does not exist. Each main page is saved as a screenshot under
``console/tests/artifacts/`` (laptop width, and a few at phone width).
"""

from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect
from tandem_chassis.auth import mint_dev_token
from tandem_chassis.testing import Platform, eventually, publish_event
from tandem_contracts import EmployeeJoined, topics

pytestmark = pytest.mark.e2e

ROLES = ("employee", "program_admin", "hr_integration")
ACCESSIBILITY_PROBLEMS = """() => {
  const problems = [];
  if (!document.documentElement.lang) problems.push("no lang on <html>");
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (!el.labels || el.labels.length === 0) problems.push("no label: " + (el.id || el.name));
  }
  let last = 0;
  for (const h of document.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
    const level = Number(h.tagName[1]);
    if (level > last + 1) problems.push("heading skips to " + h.tagName + ": " + h.textContent.trim());
    last = level;
  }
  if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one h1");
  if (!document.querySelector("a.skip-link[href='#main']") || !document.getElementById("main"))
    problems.push("no skip link to #main");
  return problems;
}"""


async def assert_accessible_basics(page: Page) -> None:
    assert await page.evaluate(ACCESSIBILITY_PROBLEMS) == [], page.url


async def dev_login(page: Page, base: str, employee_id: str, *roles: str) -> None:
    await page.goto(f"{base}/dev/login")
    await page.get_by_label("Employee id").fill(employee_id)
    for role in ROLES:
        await page.get_by_label(role, exact=True).set_checked(role in roles)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator(".flash-ok")).to_contain_text(f"Signed in as {employee_id}")


async def seed(platform: Platform, *people: EmployeeJoined) -> None:
    """HR announces ``people``; returns once the profiles service knows every one of them."""
    await publish_event(platform.bootstrap, platform.topic(topics.HR_EMPLOYEES), *people, source="/hr/test")
    secret = platform.env["TANDEM_JWT_SECRET"]
    admin = mint_dev_token(secret, sub="hr", roles=["hr_integration"])
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {admin}"}) as client:
        for person in people:
            url = f"{platform['profiles'].url}/v1/profiles/{person.employee_id}"

            async def known(url: str = url) -> bool:
                return (await client.get(url)).status_code == 200

            await eventually(known, f"profile {person.employee_id}")


async def suggested_mentors(platform: Platform, mentee_id: str) -> set[str]:
    token = mint_dev_token(platform.env["TANDEM_JWT_SECRET"], sub=mentee_id, roles=["employee"])
    async with httpx.AsyncClient() as client:
        answer = await client.get(
            f"{platform['matching'].url}/v1/mentees/{mentee_id}/suggestions",
            params={"limit": 10},
            headers={"Authorization": f"Bearer {token}"},
        )
    return {s["mentor_id"] for s in answer.json()["suggestions"]} if answer.status_code == 200 else set()


def person(employee_id: str, name: str, level: int, department: str = "Engineering") -> EmployeeJoined:
    return EmployeeJoined(
        employee_id=employee_id,
        email=f"{employee_id}@example.com",
        display_name=name,
        department=department,
        level=level,
        timezone="Europe/Berlin",
        languages=["en"],
    )


async def fill_profile(page: Page, base: str, *, mentor: bool, mentee: bool, skills: str, goals: str) -> None:
    await page.goto(f"{base}/me/profile")
    await page.get_by_label("mentor others").set_checked(mentor)
    await page.get_by_label("be mentored").set_checked(mentee)
    await page.get_by_label("Skills I can teach").fill(skills)
    await page.get_by_label("Goals I want to learn").fill(goals)
    await page.get_by_label("Interests").fill("distributed systems, chess")
    await page.get_by_label("How many mentees I can take").fill("2" if mentor else "0")
    await page.get_by_role("button", name="Save profile").click()
    await expect(page.locator(".flash-ok")).to_have_text("Your profile is saved.")


async def test_an_employee_finds_a_mentor_who_accepts_and_the_mentee_is_notified(
    platform: Platform, console_on, new_context, shoot
):
    base = console_on.url
    await seed(
        platform,
        person("ada", "Ada Lovelace", 2),
        person("grace", "Grace Hopper", 5),
        person("linus", "Linus Torvalds", 5, department="Platform"),
    )
    mentee_context, mentor_context = await new_context(), await new_context()
    mentee, mentor = await mentee_context.new_page(), await mentor_context.new_page()
    await mentee.goto(f"{base}/dev/login")
    await assert_accessible_basics(mentee)
    await shoot(mentee, "dev-login")
    await mentee.keyboard.press("Tab")
    assert await mentee.evaluate("document.activeElement.textContent") == "Skip to main content"

    await dev_login(mentor, base, "grace", "employee")
    await fill_profile(mentor, base, mentor=True, mentee=False, skills="Python: 5, Kafka: 4", goals="")
    await dev_login(mentor, base, "linus", "employee")
    await fill_profile(mentor, base, mentor=True, mentee=False, skills="C: 5, Python: 3", goals="")
    await dev_login(mentee, base, "ada", "employee")
    await fill_profile(mentee, base, mentor=False, mentee=True, skills="", goals="Python: 3\nKafka: 2")
    await expect(mentee.get_by_label("be mentored")).to_be_checked()
    await expect(mentee.get_by_label("Goals I want to learn")).to_have_value(
        "python: 3\nkafka: 2"
    )  # normalised by profiles
    await assert_accessible_basics(mentee)
    await shoot(mentee, "profile")

    await eventually(
        lambda: _has(suggested_mentors(platform, "ada"), {"grace", "linus"}), "both mentors suggested"
    )
    await mentee.goto(f"{base}/me/suggestions")
    cards = mentee.locator("li.suggestion")
    assert await cards.count() == 2
    grace = mentee.locator("li.suggestion[data-mentor-id='grace']")
    assert await grace.locator("ul.reasons li").count() > 0
    assert float(await grace.locator(".score-value").inner_text()) > 0
    assert await grace.locator("svg.score-bar rect.fill").count() == 1
    await assert_accessible_basics(mentee)
    await shoot(mentee, "suggestions")
    await shoot(mentee, "suggestions", phone=True)

    await expect(grace.get_by_role("heading", level=2)).to_have_text("Grace Hopper")  # a name, not an id
    await grace.get_by_label("Message to Grace Hopper (optional)").fill("Could you help me with Kafka?")
    await grace.get_by_role("button", name="Ask Grace Hopper to mentor me").click()
    await expect(mentee.locator(".flash-ok")).to_have_text("You asked Grace Hopper to mentor you.")
    request = mentee.locator("li.mentorship")
    await expect(request.locator(".status")).to_have_text("proposed")
    await expect(request.get_by_role("button", name="Withdraw request")).to_be_visible()

    await dev_login(mentor, base, "grace", "employee")
    await mentor.goto(f"{base}/me/mentorships")
    proposal = mentor.locator("li.mentorship", has_text="Mentoring Ada Lovelace")
    await expect(proposal).to_contain_text("Could you help me with Kafka?")
    await assert_accessible_basics(mentor)
    await shoot(mentor, "mentorships-mentor")
    await proposal.get_by_role("button", name="Accept").click()
    await expect(mentor.locator(".flash-ok")).to_have_text("You accepted the mentorship.")
    await expect(mentor.locator("li.mentorship .status")).to_have_text("accepted")
    await expect(mentor.get_by_role("button", name="End mentorship")).to_be_visible()

    async def accepted_in_inbox() -> bool:
        await mentee.goto(f"{base}/me/inbox")
        return await mentee.locator("li.notification[data-kind='mentorship_accepted']").count() > 0

    await eventually(accepted_in_inbox, "the acceptance in the mentee's inbox")
    note = mentee.locator("li.notification[data-kind='mentorship_accepted']")
    assert "unread" in (await note.get_attribute("class") or "")
    await assert_accessible_basics(mentee)
    await shoot(mentee, "inbox")
    await shoot(mentee, "inbox", phone=True)
    await note.get_by_role("button", name="Mark as read").click()
    await expect(mentee.locator(".flash-ok")).to_have_text("Marked as read.")
    await expect(mentee.locator("li.notification[data-kind='mentorship_accepted']")).to_have_class(
        "notification read"
    )
    await mentee.goto(f"{base}/me/mentorships")
    await expect(mentee.locator("li.mentorship .status")).to_have_text("accepted")
    await shoot(mentee, "mentorships-mentee")


async def _has(found: Awaitable[set[str]], wanted: set[str]) -> bool:
    return wanted <= await found


async def _patch_profile(platform: Platform, employee_id: str, body: dict[str, Any]) -> None:
    token = mint_dev_token(platform.env["TANDEM_JWT_SECRET"], sub=employee_id, roles=["employee"])
    async with httpx.AsyncClient() as client:
        answer = await client.patch(
            f"{platform['profiles'].url}/v1/profiles/{employee_id}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 200, answer.text


async def test_an_admin_runs_a_program_round_and_reads_its_charts(
    platform: Platform, console_on, new_context, shoot
):
    base = console_on.url
    mentees = [f"mentee-{i}" for i in range(1, 6)]
    mentors = ["mentor-a", "mentor-b"]
    await seed(
        platform,
        *(person(m, f"Mentee {m[-1]}", 2) for m in mentees),
        *(person(m, f"Mentor {m[-1].upper()}", 5) for m in mentors),
    )
    for m in mentors:
        await _patch_profile(
            platform,
            m,
            {"roles": ["mentor"], "skills": [{"name": "Python", "level": 5}], "mentor_capacity": 2},
        )
    for m in mentees:
        await _patch_profile(platform, m, {"roles": ["mentee"], "goals": [{"name": "Python", "level": 3}]})
    for m in mentees:
        await eventually(
            lambda m=m: _has(suggested_mentors(platform, m), set(mentors)), f"suggestions for {m}"
        )

    context = await new_context()
    page = await context.new_page()
    await dev_login(page, base, "admin-1", "program_admin")
    await page.goto(f"{base}/admin/programs")
    await page.get_by_label("Name").fill("Spring cohort")
    await page.get_by_label("Objective").select_option("participation")
    await page.get_by_label("Proposals expire after (days, optional)").fill("1")
    await assert_accessible_basics(page)
    await page.get_by_role("button", name="Create program").click()
    await expect(page.locator(".flash-ok")).to_contain_text("Program “Spring cohort” created.")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Spring cohort")

    await page.get_by_label("Mentee employee ids").fill(", ".join(mentees))
    await page.get_by_label("Mentor employee ids").fill("\n".join(mentors))
    await page.get_by_role("button", name="Enrol").click()
    await expect(page.locator(".flash-ok")).to_have_text("Enrolled 7 people.")
    await expect(page.locator("#mentee-count")).to_have_text("5")
    await expect(page.locator("#mentor-count")).to_have_text("2")
    await assert_accessible_basics(page)
    await shoot(page, "program")

    await page.get_by_role("button", name="Run a matching round").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Round report")
    program_id, round_id = page.url.split("/admin/programs/")[1].split("/rounds/")
    admin = mint_dev_token(platform.env["TANDEM_JWT_SECRET"], sub="admin-1", roles=["program_admin"])
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {admin}"}) as client:
        report = (
            await client.get(f"{platform['matching'].url}/v1/programs/{program_id}/rounds/{round_id}")
        ).json()
    assert report["matched"] == 4, report  # two mentors with two seats each, five mentees

    assert await page.locator("#matched-count").inner_text() == str(report["matched"])
    assert await page.locator("#unmatched-count").inner_text() == str(len(report["unmatched"]))
    scores = page.locator("svg#chart-scores rect.bar")
    assert await scores.count() == 10
    drawn = [int(v) for v in await scores.evaluate_all("bars => bars.map(b => b.dataset.value)")]
    assert sum(drawn) == report["matched"]
    heights = await scores.evaluate_all("bars => bars.map(b => Number(b.getAttribute('height')))")
    assert max(heights) > 0
    load = page.locator("svg#chart-load rect.bar")
    assert await load.count() > 0
    assert await page.locator("svg#chart-load rect.bar[data-label='2 mentees']").get_attribute(
        "data-value"
    ) == str(report["mentor_load"]["2"])
    outcome = page.locator("svg#chart-outcome rect.bar[data-label='matched']")
    assert await outcome.get_attribute("data-value") == str(report["matched"])
    for reason, count in report["unmatched_reasons"].items():
        label = f"unmatched: {reason.replace('_', ' ')}"
        bar = page.locator(f"svg#chart-outcome rect.bar[data-label='{label}']")
        assert await bar.get_attribute("data-value") == str(count)
    assert await page.locator("table.chart-data").count() == 3  # the charts' text alternative
    await assert_accessible_basics(page)
    await shoot(page, "round-report")
    await shoot(page, "round-report", phone=True)

    await page.goto(f"{base}/admin/programs")
    await expect(page.locator("table.programs tbody tr")).to_have_count(1)
    await shoot(page, "programs")

    await page.goto(f"{base}/admin/mentorships")
    await expect(page.locator("#expiring-heading + form + p")).to_contain_text(
        f"{report['matched']} of {report['matched']} open proposals"
    )
    await assert_accessible_basics(page)
    await shoot(page, "admin-mentorships")

    await page.goto(f"{base}/ops")
    for service in ("profiles", "matching", "notifications"):
        await expect(page.locator(f"tr[data-service='{service}'] .service-status")).to_contain_text("ready")
    assert await page.locator("table.lag tbody tr").count() >= 3
    await assert_accessible_basics(page)
    await shoot(page, "operations")


async def test_in_prod_the_dev_login_is_gone_and_pages_need_a_signed_in_user(
    start_console, new_context, shoot
):
    console = start_console(
        {
            "TANDEM_ENV": "prod",
            "TANDEM_JWT_PUBLIC_KEY": "unused: no token is verified in this test",
            "TANDEM_PROFILES_URL": "http://127.0.0.1:9",
            "TANDEM_MATCHING_URL": "http://127.0.0.1:9",
            "TANDEM_NOTIFICATIONS_URL": "http://127.0.0.1:9",
        }
    )
    await console.wait_ready(timeout_s=180)
    context = await new_context()
    page = await context.new_page()
    answer = await page.goto(f"{console.url}/dev/login")
    assert answer is not None and answer.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    await shoot(page, "prod-dev-login-404")

    for path in ("/", "/me/profile", "/admin/programs", "/ops"):
        await page.goto(f"{console.url}{path}")
        assert page.url.startswith(f"{console.url}/signin"), path
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    await expect(page.get_by_role("link", name="Use the dev login")).to_have_count(0)
    assert await context.cookies() == []

    dev = mint_dev_token("any-secret-at-all-0123456789abcdef", sub="e-1", roles=["employee"])
    await page.get_by_label("Access token (JWT)").fill(dev)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator(".flash-error")).to_contain_text("HS256 tokens are accepted only in dev mode")
    assert [c["name"] for c in await context.cookies()] == []
    await assert_accessible_basics(page)
    await shoot(page, "signin")
    await shoot(page, "signin", phone=True)


async def _as(platform: Platform, employee_id: str) -> dict[str, str]:
    token = mint_dev_token(platform.env["TANDEM_JWT_SECRET"], sub=employee_id, roles=["employee"])
    return {"Authorization": f"Bearer {token}"}


async def _accepted_mentorship(platform: Platform, mentee: str, mentor: str) -> str:
    """The mentee asks, the mentor accepts (through the APIs); the relationship is open."""
    matching, relationships = platform["matching"].url, platform["relationships"].url
    async with httpx.AsyncClient() as client:
        asked: list[str] = []

        async def ask() -> bool:
            answer = await client.post(
                f"{matching}/v1/mentorships",
                json={"mentee_id": mentee, "mentor_id": mentor},
                headers=await _as(platform, mentee),
            )
            if answer.status_code == 201:
                asked.append(answer.json()["mentorship_id"])
            return bool(asked)

        await eventually(ask, "matching to take the request")
        mentorship_id = asked[0]
        accepted = await client.post(
            f"{matching}/v1/mentorships/{mentorship_id}/accept", headers=await _as(platform, mentor)
        )
        assert accepted.status_code == 200, accepted.text

        async def opened() -> bool:
            url = f"{relationships}/v1/mentorships/{mentorship_id}/relationship"
            return (await client.get(url, headers=await _as(platform, mentee))).status_code == 200

        await eventually(opened, "the relationship to open")
    return mentorship_id


async def test_a_pair_agrees_meets_keeps_private_notes_tracks_a_goal_and_gives_feedback(
    platform: Platform, console_on, new_context, shoot
):
    base = console_on.url
    await seed(platform, person("ada", "Ada Lovelace", 2), person("grace", "Grace Hopper", 5))
    await _patch_profile(
        platform,
        "grace",
        {"roles": ["mentor"], "skills": [{"name": "Python", "level": 5}], "mentor_capacity": 2},
    )
    await _patch_profile(
        platform,
        "ada",
        {"roles": ["mentee"], "goals": [{"name": "Python", "level": 3}, {"name": "Kafka", "level": 4}]},
    )
    mentorship_id = await _accepted_mentorship(platform, "ada", "grace")
    page_url = f"{base}/me/mentorships/{mentorship_id}"
    mentee_context, mentor_context = await new_context(), await new_context()
    mentee, mentor = await mentee_context.new_page(), await mentor_context.new_page()
    await dev_login(mentee, base, "ada", "employee")
    await dev_login(mentor, base, "grace", "employee")

    await mentee.goto(f"{base}/me/mentorships")
    await mentee.get_by_role("link", name="Agreement, sessions, goals and feedback with Grace Hopper").click()
    await expect(mentee.get_by_role("heading", level=1)).to_have_text("Grace Hopper mentoring Ada Lovelace")
    await expect(mentee.locator("#health")).to_be_visible()
    goals = mentee.get_by_label("Goals we agree on")
    await expect(goals).to_have_value("python: 2 -> 3\nkafka: 3 -> 4")  # the mentee's profile goals
    await mentee.get_by_label("What we expect of each other").fill(
        "Ada brings questions; Grace reviews code."
    )
    await mentee.get_by_label("How often we meet").select_option("weekly")
    await mentee.get_by_label("End date (optional").fill("2001-01-01")
    await mentee.get_by_role("button", name="Save the draft").click()
    await expect(mentee.locator("#form-error")).to_contain_text("the end date must be after the mentorship")
    await expect(mentee.get_by_label("What we expect of each other")).to_have_value(
        "Ada brings questions; Grace reviews code."
    )  # nothing typed is lost
    await assert_accessible_basics(mentee)
    await mentee.get_by_label("End date (optional").fill("")
    await mentee.get_by_role("button", name="Save the draft").click()
    await expect(mentee.locator(".flash-ok")).to_contain_text("The agreement draft is saved")
    await mentee.get_by_role("button", name="Sign version 1").click()
    await expect(mentee.locator(".flash-ok")).to_have_text("You signed the agreement.")
    await expect(mentee.locator("#agreement-status")).to_contain_text("waiting for Grace Hopper to sign")

    await mentor.goto(page_url)
    await mentor.get_by_role("button", name="Sign version 1").click()
    await expect(mentor.locator("#agreement-status")).to_have_attribute("data-signed", "yes")
    await mentor.locator("#agreement-versions summary").click()
    await expect(mentor.locator("#agreement-versions tr[data-version='1'] .signatures")).to_contain_text(
        "Ada Lovelace"
    )
    await expect(mentor.locator("#agreement-versions tr[data-version='1'] .signatures")).to_contain_text(
        "Grace Hopper"
    )

    await mentee.goto(page_url)
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT10:00")
    await mentee.get_by_label("When (").fill(tomorrow)
    await mentee.get_by_label("Agenda").fill("Kafka consumer groups")
    await mentee.get_by_role("button", name="Save the session").click()
    await expect(mentee.locator(".flash-ok")).to_have_text("The session is saved.")
    ahead = mentee.locator("li.session[data-status='scheduled']")
    await expect(ahead).to_have_count(1)
    later = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT11:30")
    await ahead.get_by_label("New time").fill(later)
    await ahead.get_by_role("button", name="Reschedule").click()
    await expect(mentee.locator(".flash-ok")).to_contain_text("The session is moved")
    await expect(mentee.locator("li.session[data-status='scheduled'] h3")).to_contain_text("11:30")

    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT09:00")
    await mentee.get_by_text("Schedule a session, or log one that already happened").click()
    await mentee.get_by_label("When (").fill(yesterday)
    await mentee.get_by_label("It already happened: log it").check()
    await mentee.get_by_label("Shared notes (for a session that happened)").fill("We read the consumer code.")
    await mentee.get_by_role("button", name="Save the session").click()
    await expect(mentee.locator(".flash-ok")).to_have_text("The session is saved.")
    held = mentee.locator("li.session[data-status='logged']")
    await expect(held.locator(".shared-notes")).to_have_text("We read the consumer code.")
    await held.locator(".private-note summary").click()
    await held.get_by_label("Only you can read this").fill("Ada's secret: ask about rebalancing.")
    await held.get_by_role("button", name="Save my private note").click()
    await expect(mentee.locator(".flash-ok")).to_contain_text("Your private note is saved")
    await expect(mentee.locator("li.session[data-status='logged'] textarea")).to_have_value(
        "Ada's secret: ask about rebalancing."
    )

    python = mentee.locator("li.goal[data-goal-id='python']")
    await python.get_by_label("New progress for python (%)").fill("40")
    await python.get_by_label("Note").fill("wrote a first consumer")
    await python.get_by_role("button", name="Update python").click()
    await expect(mentee.locator(".flash-ok")).to_have_text("The goal's progress is saved.")
    python = mentee.locator("li.goal[data-goal-id='python']")
    await expect(python.locator("progress")).to_have_attribute("value", "40")
    await expect(python.locator(".history")).to_contain_text("Ada Lovelace: 40% — wrote a first consumer")

    fit = mentee.locator("form.feedback-form[data-kind='fit']")
    await expect(fit).to_have_count(1)  # asked after the first session that happened
    await expect(mentee.locator("#health")).to_have_attribute("data-health", "healthy")
    await assert_accessible_basics(mentee)
    await shoot(mentee, "mentorship-mentee")
    await shoot(mentee, "mentorship-mentee", phone=True)
    await fit.get_by_label("Fit").select_option("good")
    await fit.get_by_role("button", name="Send feedback").click()
    await expect(mentee.locator(".flash-ok")).to_have_text("Thank you: your feedback is recorded.")
    await expect(mentee.locator("form.feedback-form[data-kind='fit']")).to_have_count(0)

    await mentor.goto(page_url)
    await expect(mentor.locator("li.session[data-status='logged'] .shared-notes")).to_have_text(
        "We read the consumer code."
    )
    assert "rebalancing" not in await mentor.content()  # Ada's private note stays hers
    rating = mentor.locator("form.feedback-form[data-kind='session']")
    await rating.get_by_label("Rating").select_option("4")
    await rating.get_by_role("button", name="Send feedback").click()
    await expect(mentor.locator(".flash-ok")).to_have_text("Thank you: your feedback is recorded.")
    await expect(mentor.locator("form.feedback-form[data-kind='session']")).to_have_count(0)
    await expect(mentor.locator("#health")).to_have_text("healthy")
    await assert_accessible_basics(mentor)
    await shoot(mentor, "mentorship-mentor")
