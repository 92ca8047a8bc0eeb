"""The demo after the round: what the pairs do in the relationships service, told with names.

Some mentees accept their proposals; the pairs sign agreements, log a session that took place,
rate it and say whether the match fits. One pair ends its mentorship and answers the final
assessment; one mentee says the fit is poor, so matching ends that mentorship and proposes
another mentor. Pulse surveys (30 days after acceptance) and an inactive pair (3x the cadence
without a session) need time to pass: they happen in a demo only when the relationships service
runs with a dev clock offset (``TANDEM_CLOCK_OFFSET_S``), and the demo says which was the case.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console

from tandem_cli.api import Api
from tandem_cli.errors import CliError
from tandem_cli.polling import until

__all__ = ["AfterTheMatch", "Pair"]

PULSE_AFTER = timedelta(days=30)  # the relationships service's first pulse survey
INACTIVE_WEEKLY = timedelta(days=21)  # 3x a weekly cadence without a session
STEP_WAIT_S = 90.0  # the service takes its time-driven steps every minute by default


@dataclass
class Pair:
    mentee: str
    mentor: str
    role: str  # what the demo has this pair do
    mentorship_id: str = ""
    story: list[str] = field(default_factory=list)
    health: str = ""


ROLES = ("steady", "completed", "not a fit", "goes quiet", "low pulse")


class AfterTheMatch:
    def __init__(
        self,
        *,
        matching: Api,
        relationships: Api,
        token: Callable[[str], str],
        names: dict[str, str],
        goals: dict[str, list[dict[str, Any]]],
        console: Console,
        timeout_s: float,
    ) -> None:
        self.matching, self.relationships = matching, relationships
        self.token, self.names, self.goals = token, names, goals
        self.console, self.timeout_s = console, timeout_s
        self.offset = timedelta(0)

    def name(self, employee_id: str) -> str:
        return self.names.get(employee_id) or employee_id

    # --- the API calls -------------------------------------------------------------------

    async def _rel(self, method: str, pair: Pair, path: str, by: str, body: Any = None) -> Any:
        answer = await self.relationships.call(
            method, f"/v1/mentorships/{pair.mentorship_id}{path}", token=self.token(by), json=body
        )
        return answer.json() if answer.content else None

    async def _relationship(self, pair: Pair, by: str) -> dict[str, Any] | None:
        answer = await self.relationships.call(
            "GET",
            f"/v1/mentorships/{pair.mentorship_id}/relationship",
            token=self.token(by),
            ok=(200, 404),
        )
        found: dict[str, Any] | None = answer.json() if answer.status_code == 200 else None
        return found

    async def _open_request(self, pair: Pair, by: str, kind: str) -> dict[str, Any] | None:
        found = await self._relationship(pair, by)
        for request in (found or {}).get("open_feedback_requests", []):
            if request["kind"] == kind and request["respondent_id"] == by:
                return dict(request)
        return None

    async def _answer(self, pair: Pair, by: str, kind: str, **answers: Any) -> None:
        request = await until(
            lambda: self._open_request(pair, by, kind),
            what=f"the {kind} feedback request of {by}",
            timeout_s=self.timeout_s,
        )
        body = {"kind": kind, "request_id": request["request_id"], **answers}
        await self._rel("POST", pair, "/feedback", by, body)

    # --- the story -----------------------------------------------------------------------

    async def accept(self, report: dict[str, Any]) -> list[Pair]:
        """The first mentees of the round (one per mentor) accept; their relationships open."""
        pairs: list[Pair] = []
        mentors: set[str] = set()
        for proposed in report.get("pairs", []):
            if len(pairs) == len(ROLES):
                break
            if proposed["mentor_id"] in mentors:
                continue
            mentors.add(proposed["mentor_id"])
            pairs.append(Pair(proposed["mentee_id"], proposed["mentor_id"], ROLES[len(pairs)]))
        for pair in pairs:
            listed = await self.matching.call(
                "GET",
                "/v1/mentorships",
                token=self.token(pair.mentee),
                params={"employee_id": pair.mentee, "status": "proposed"},
            )
            pair.mentorship_id = next(
                m["mentorship_id"] for m in listed.json()["items"] if m["mentor_id"] == pair.mentor
            )
            await self.matching.call(
                "POST", f"/v1/mentorships/{pair.mentorship_id}/accept", token=self.token(pair.mentee)
            )
        with self.console.status("waiting for the relationships to open…"):
            for pair in pairs:

                async def opened(pair: Pair = pair) -> dict[str, Any] | None:
                    return await self._relationship(pair, pair.mentee)

                await until(
                    opened,
                    what=f"the relationship of {pair.mentee} and {pair.mentor}",
                    timeout_s=self.timeout_s,
                )
        self.console.print(
            f"{len(pairs)} mentees accepted their proposals: "
            + ", ".join(f"{self.name(p.mentee)} with {self.name(p.mentor)}" for p in pairs)
        )
        return pairs

    async def agree(self, pair: Pair) -> None:
        goals = [
            {"name": g["name"], "current_level": max(1, g["level"] - 1), "target_level": g["level"]}
            for g in self.goals.get(pair.mentee, [])
        ]
        cadence = "weekly" if pair.role == "goes quiet" else "biweekly"
        terms = {
            "goals": goals,
            "expectations": "We meet as agreed, come prepared and say early when something does not work.",
            "cadence": cadence,
            "session_minutes": 45,
        }
        agreement = await self._rel("PUT", pair, "/agreement", pair.mentee, terms)
        drafted_at = datetime.fromisoformat(agreement["versions"][-1]["drafted_at"].replace("Z", "+00:00"))
        self.offset = drafted_at - datetime.now(UTC)  # the service's clock, as it stamps the draft
        for party in (pair.mentee, pair.mentor):
            await self._rel(
                "POST", pair, "/agreement/sign", party, {"version": agreement["versions"][-1]["version"]}
            )
        pair.story.append(
            f"agreement signed by both ({cadence}, {len(goals)} goal(s) from the mentee's profile)"
        )

    async def meet(self, pair: Pair) -> None:
        """A session that took place yesterday (by the service's clock), logged with its notes."""
        starts_at = datetime.now(UTC) + self.offset - timedelta(days=1)
        await self._rel(
            "POST",
            pair,
            "/sessions",
            pair.mentee,
            {
                "starts_at": starts_at.isoformat(),
                "minutes": 45,
                "agenda": "Goals and a first plan",
                "log": {"happened": True, "notes": "We agreed on a plan for the first month."},
            },
        )
        await self._answer(pair, pair.mentee, "session", session_rating=4)
        await self._answer(pair, pair.mentor, "session", session_rating=3, comment="Good start.")
        pair.story.append("a session logged, rated 4 and 3")

    async def fit(self, pair: Pair) -> None:
        verdict = "poor" if pair.role == "not a fit" else "good"
        await self._answer(pair, pair.mentor, "fit", fit="good")
        await self._answer(pair, pair.mentee, "fit", fit=verdict)
        pair.story.append(f"fit: the mentor says good, the mentee says {verdict}")

    async def rematched(self, pair: Pair) -> None:
        """After a poor fit: matching ended the mentorship and proposed another mentor."""

        async def new_proposal() -> list[dict[str, Any]] | None:
            listed = await self.matching.call(
                "GET",
                "/v1/mentorships",
                token=self.token(pair.mentee),
                params={"employee_id": pair.mentee, "status": "proposed"},
            )
            found = [
                m for m in listed.json()["items"] if m.get("replaces_mentorship_id") == pair.mentorship_id
            ]
            return found or None

        with self.console.status(f"waiting for matching to re-match {self.name(pair.mentee)}…"):
            try:
                proposals = await until(new_proposal, what="the new proposal", timeout_s=self.timeout_s)
            except CliError:  # every other mentor within the program's terms may be full
                proposals = []
        if any(p["mentor_id"] == pair.mentor for p in proposals):
            raise CliError(f"{pair.mentee} was proposed {pair.mentor} again after a poor fit")
        if proposals:
            others = ", ".join(self.name(p["mentor_id"]) for p in proposals)
            pair.story.append(
                f"ended as not a fit; re-matched: {others} proposed, not {self.name(pair.mentor)}"
            )
        else:
            pair.story.append("ended as not a fit; no other mentor with a free seat was proposed in time")
        await self.final(pair, achieved="no", recommend=3)

    async def complete(self, pair: Pair) -> None:
        await self.matching.call(
            "POST",
            f"/v1/mentorships/{pair.mentorship_id}/end",
            token=self.token(pair.mentee),
            json={"reason": "completed"},
        )
        pair.story.append("ended as completed")
        await self.final(pair, achieved="yes", recommend=9)
        await self._answer(pair, pair.mentor, "final", goals_achieved="partly", would_recommend=8)
        pair.story.append("the mentor's final assessment: goals achieved partly, would recommend 8/10")

    async def final(self, pair: Pair, *, achieved: str, recommend: int) -> None:
        found = await until(
            lambda: self._open_request(pair, pair.mentee, "final"),
            what=f"the final assessment of {pair.mentee}",
            timeout_s=self.timeout_s,
        )
        relationship = await self._relationship(pair, pair.mentee) or {}
        levels = {g["goal_id"]: min(5, g["current_level"] + 1) for g in relationship.get("goals", [])}
        await self._rel(
            "POST",
            pair,
            "/feedback",
            pair.mentee,
            {
                "kind": "final",
                "request_id": found["request_id"],
                "goal_levels": levels,
                "goals_achieved": achieved,
                "would_recommend": recommend,
            },
        )
        pair.story.append(f"final assessment: goals achieved {achieved}, would recommend {recommend}/10")

    async def time_driven(self, pairs: list[Pair]) -> None:
        """Pulses and inactivity, when the service's clock is far enough ahead to have them."""
        days = round(self.offset.total_seconds() / 86400, 1) + 0.0  # no "-0.0"
        open_pairs = [p for p in pairs if p.role in ("steady", "goes quiet", "low pulse")]
        if self.offset < max(PULSE_AFTER, INACTIVE_WEEKLY):
            for line in (
                f"the relationships service's clock is {days:+.1f} days from now: pulse surveys",
                "(30 days after acceptance) and an inactive pair (3x its cadence without a session)",
                "need time to pass, so they do not happen in this run. To see them, start the stack",
                "with a dev clock offset: `TANDEM_CLOCK_OFFSET_S=3024000 make run` (35 days ahead).",
            ):
                self.console.print(line, style="yellow", markup=False)
            return
        self.console.print(f"the relationships service's clock runs {days:.0f} days ahead (dev clock offset)")
        with self.console.status("waiting for the service's time-driven steps (pulses, health)…"):
            for pair in open_pairs:
                if pair.role == "goes quiet":
                    continue
                satisfaction = 2 if pair.role == "low pulse" else 5
                await self._answer_pulse(pair, pair.mentee, satisfaction)
                await self._answer_pulse(pair, pair.mentor, 4)
                pair.story.append(f"pulse survey answered: mentee satisfaction {satisfaction}/5")

    async def _answer_pulse(self, pair: Pair, by: str, satisfaction: int) -> None:
        request = await until(
            lambda: self._open_request(pair, by, "pulse"),
            what=f"the pulse survey of {by}",
            timeout_s=STEP_WAIT_S,
        )
        await self._rel(
            "POST",
            pair,
            "/feedback",
            by,
            {"kind": "pulse", "request_id": request["request_id"], "satisfaction": satisfaction},
        )

    async def settle_health(self, pairs: list[Pair]) -> None:
        """Each pair's health as the service sees it now (waits for the quiet pair's when it can)."""
        for pair in pairs:
            if pair.role == "goes quiet" and self.offset >= INACTIVE_WEEKLY:

                async def inactive(pair: Pair = pair) -> str | None:
                    found = await self._relationship(pair, pair.mentee) or {}
                    return "inactive" if found.get("health") == "inactive" else None

                with self.console.status(
                    f"waiting for {self.name(pair.mentee)}'s quiet pair to go inactive…"
                ):
                    await until(inactive, what="the quiet pair to go inactive", timeout_s=STEP_WAIT_S)
                pair.story.append(
                    "no session for 3x the weekly cadence: inactive, the program's admins alerted"
                )
            found = await self._relationship(pair, pair.mentee) or {}
            pair.health = f"health {found.get('health', '?')}" if found.get("status") == "open" else "ended"

    async def run(self, report: dict[str, Any]) -> list[Pair]:
        pairs = await self.accept(report)
        if not pairs:
            self.console.print("[yellow]the round proposed no pairs: nothing happens after the match[/]")
            return pairs
        with self.console.status("the pairs sign agreements, meet and give feedback…"):
            for pair in pairs:
                await self.agree(pair)
                if pair.role == "goes quiet":
                    pair.story.append("no session logged (a weekly pair is inactive after 3 quiet weeks)")
                    continue
                await self.meet(pair)
                await self.fit(pair)
        for pair in pairs:
            if pair.role == "not a fit":
                await self.rematched(pair)
            elif pair.role == "completed":
                await self.complete(pair)
        await self.time_driven(pairs)
        await self.settle_health(pairs)
        self.tell(pairs)
        return pairs

    def tell(self, pairs: list[Pair]) -> None:
        """Each pair's story, one line a step (plain lines: they read the same at any width)."""
        self.console.print("[bold]After the match[/]")
        for pair in pairs:
            who = f"{self.name(pair.mentee)} (mentee) and {self.name(pair.mentor)} (mentor)"
            self.console.print(f"• {who}: {pair.health}", markup=False)
            for step in pair.story:
                self.console.print(f"    {step}", markup=False)
