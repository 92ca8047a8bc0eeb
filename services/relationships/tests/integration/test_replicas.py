"""Two replicas as separate processes plan the same due steps: each step still happens once."""

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tandem_chassis.testing import ServiceProcess, publish_event, read_topic
from tandem_contracts import MentorshipAccepted, topics

pytestmark = pytest.mark.integration

PAIRS = 12


async def test_two_replicas_take_each_due_step_once(
    isolated_settings: dict[str, str], tmp_path: Path
) -> None:
    # Both run eight days ahead (the dev-only clock offset): every agreement is a week overdue.
    env = isolated_settings | {"TANDEM_CLOCK_OFFSET_S": str(8 * 86400), "TANDEM_STEPS_INTERVAL_S": "0.1"}
    replicas = [ServiceProcess("relationships", env, tmp_path / name) for name in ("a", "b")]
    for replica in replicas:
        replica.log_path.parent.mkdir(parents=True, exist_ok=True)
        replica.start()
    try:
        for replica in replicas:
            await replica.wait_ready()
        bootstrap = env["TANDEM_KAFKA_BOOTSTRAP_SERVERS"]
        prefix = env["TANDEM_KAFKA_TOPIC_PREFIX"]
        now = datetime.now(UTC)  # the replicas' clocks say eight days later
        accepted = [
            MentorshipAccepted(
                mentorship_id=f"m-{n}",
                mentor_id=f"mentor-{n}",
                mentee_id=f"mentee-{n}",
                status="accepted",
                accepted_at=now,
            )
            for n in range(PAIRS)
        ]
        await publish_event(bootstrap, prefix + topics.MENTORSHIPS, *accepted)

        def reminders(records: list) -> dict[str, set[str]]:  # type: ignore[type-arg]
            """Reminder event ids per mentorship: a relay may publish an entry twice (two replicas'
            relays, or a crash before it is deleted) with the same id, which consumers drop."""
            found: dict[str, set[str]] = {}
            for record in records:
                headers = dict(record.headers)
                if headers["ce_type"] == b"relationship.reminder_due":
                    found.setdefault(json.loads(record.value)["mentorship_id"], set()).add(
                        headers["ce_id"].decode()
                    )
            return found

        records = await read_topic(
            bootstrap,
            prefix + topics.RELATIONSHIPS,
            until=lambda rs: len(reminders(rs)) == PAIRS,
            timeout_s=60,
        )
        assert set(reminders(records)) == {f"m-{n}" for n in range(PAIRS)}
        await asyncio.sleep(3)  # both replicas go on planning every 0.1 s meanwhile
        final = await read_topic(bootstrap, prefix + topics.RELATIONSHIPS, until=len(records), timeout_s=30)
        assert {mentorship: len(ids) for mentorship, ids in reminders(final).items()} == {
            f"m-{n}": 1 for n in range(PAIRS)
        }
        types = {dict(r.headers)["ce_type"] for r in final}
        assert types == {b"relationship.reminder_due"}  # no other step was due
    finally:
        for replica in replicas:
            replica.stop()
