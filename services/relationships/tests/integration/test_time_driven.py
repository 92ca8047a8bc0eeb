"""Time-driven steps with a set clock, across a restart: each happens exactly once."""

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from tandem_chassis.testing import eventually
from tandem_contracts import MentorshipEnded, ProgramCreated, topics
from tandem_relationships.service_layer.clock import SettableClock

pytestmark = pytest.mark.integration

M = "m-steps"


def kinds(events: list[tuple[str, dict[str, Any]]], kind: str) -> list[dict[str, Any]]:
    return [data for name, data in events if name == kind]


async def test_steps_happen_once_across_a_restart(relationships_settings: Any, make: SimpleNamespace) -> None:
    settings = relationships_settings()
    start = make.now()
    clock = SettableClock(start)
    program = ProgramCreated(
        program_id="p-1", name="Spring", admin_ids=["admin-1"], auto_close_inactive_days=100
    )

    async with make.running(settings, clock) as r:
        await r.publish(topics.PROGRAMS, program)
        await r.accept(M, start, program_id="p-1")
        base = f"/v1/mentorships/{M}"
        await r.client.put(f"{base}/agreement", json={"cadence": "monthly"}, headers=r.auth(make.mentee))
        await r.client.post(f"{base}/agreement/sign", headers=r.auth(make.mentee))
        session = {"starts_at": (start + timedelta(days=7, hours=12)).isoformat()}
        assert (
            await r.client.post(f"{base}/sessions", json=session, headers=r.auth(make.mentee))
        ).status_code == 201

        clock.set(start + timedelta(days=7))  # the agreement is a week old and unsigned by the mentor
        events = await r.events(lambda e: len(kinds(e, "relationship.reminder_due")) >= 2)
        reminders = sorted(
            (d["kind"], tuple(d["recipient_ids"])) for d in kinds(events, "relationship.reminder_due")
        )
        assert reminders == [
            ("agreement_unsigned", (make.mentor,)),
            ("session_upcoming", (make.mentor, make.mentee)),
        ]

    clock.set(start + timedelta(days=30))  # the service was down; it comes back a month in
    async with make.running(settings, clock) as r:
        events = await r.events(lambda e: len(kinds(e, "relationship.feedback_requested")) >= 2)
        pulses = sorted(d["request_id"] for d in kinds(events, "relationship.feedback_requested"))
        assert pulses == ["pulse:1:mentee", "pulse:1:mentor"]
        # A pulse of 2 or less puts the pair at risk: both are nudged once.
        base = f"/v1/mentorships/{M}"
        low = await r.client.post(
            f"{base}/feedback", json={"kind": "pulse", "satisfaction": 1}, headers=r.auth(make.mentee)
        )
        assert low.status_code == 201
        events = await r.events(lambda e: bool(kinds(e, "relationship.health_changed")))
        (change,) = kinds(events, "relationship.health_changed")
        assert (change["health"], change["nudge_ids"]) == ("at_risk", [make.mentor, make.mentee])

        clock.set(start + timedelta(days=101))  # no session for 3x the cadence and the program's 100 days
        events = await r.events(lambda e: bool(kinds(e, "relationship.auto_closed")))
        inactive = [d for d in kinds(events, "relationship.health_changed") if d["health"] == "inactive"]
        assert [d["alert_admin_ids"] for d in inactive] == [["admin-1"]]
        await r.publish(
            topics.MENTORSHIPS,
            MentorshipEnded(
                mentorship_id=M,
                mentor_id=make.mentor,
                mentee_id=make.mentee,
                program_id="p-1",
                status="ended",
                reason="inactive",
            ),
        )
        shown = await eventually(
            lambda: _closed(r, M, make.mentee), "the relationship closed by mentorship.ended", 30
        )
        assert [q["request_id"] for q in shown["open_feedback_requests"]] == ["final:mentee"]
        final = {"kind": "final", "goals_achieved": "partly", "would_recommend": 6}
        assert (
            await r.client.post(f"{base}/feedback", json=final, headers=r.auth(make.mentee))
        ).status_code == 201
        events = await r.events(lambda e: bool(kinds(e, "relationship.outcome_recorded")))

    # Every step once: two reminders, two pulses (days 30 and 90) per party, one auto-close, one outcome.
    assert len(kinds(events, "relationship.reminder_due")) == 2
    assert len(kinds(events, "relationship.auto_closed")) == 1
    assert len([d for d in kinds(events, "relationship.feedback_requested") if d["kind"] == "pulse"]) == 4
    (outcome,) = kinds(events, "relationship.outcome_recorded")
    assert (
        outcome["goals_achieved"],
        outcome["would_recommend"],
        outcome["final_satisfaction"],
        outcome["program_id"],
    ) == (
        "partly",
        6,
        1,
        "p-1",
    )


async def _closed(r: Any, mentorship_id: str, sub: str) -> dict[str, Any] | None:
    shown: dict[str, Any] = (
        await r.client.get(f"/v1/mentorships/{mentorship_id}/relationship", headers=r.auth(sub))
    ).json()
    return shown if shown["status"] == "closed" else None
