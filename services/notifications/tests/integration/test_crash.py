"""The notifications service as a separate process, killed with SIGKILL in the middle of a burst."""

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter

import httpx
import pytest
from tandem_chassis.testing import as_record, eventually, free_port, publish_raw
from tandem_contracts import MentorshipProposed, ProfileRegistered, new_event, topics
from tandem_contracts.profiles import NotificationPreferences

from ..support import SmtpSink

pytestmark = pytest.mark.integration

EVENTS = 500
FIRST_PART = 300
MENTORS = 50


def _start(env: dict[str, str], log_path) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    return subprocess.Popen(
        [sys.executable, "-m", "tandem_notifications"],
        env=env,
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def _ready(url: str, process: subprocess.Popen[bytes], log_path) -> None:  # type: ignore[no-untyped-def]
    async def answers() -> bool:
        assert process.poll() is None, log_path.read_text()[-3000:]
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{url}/health/ready", timeout=3)).status_code == 200
        except httpx.HTTPError:
            return False

    await eventually(answers, "notifications ready", timeout_s=90)


async def test_sigkill_in_the_middle_of_a_burst_loses_no_email_and_sends_none_twice(
    isolated_settings, mongo_client, tmp_path
):
    sink = SmtpSink(free_port())
    sink.start()
    port = free_port()
    database = f"tandem_notifications_{isolated_settings['TANDEM_DB_SUFFIX']}"
    env = (
        os.environ
        | isolated_settings
        | {
            "TANDEM_HTTP_PORT": str(port),
            "TANDEM_MONGODB_DATABASE": database,
            "TANDEM_SMTP_HOST": "127.0.0.1",
            "TANDEM_SMTP_PORT": str(sink.port),
            "TANDEM_DELIVERY_LEASE_S": "4",
            "TANDEM_SMTP_TIMEOUT_S": "3",
            "TANDEM_WEBHOOK_TIMEOUT_S": "3",
            "TANDEM_DELIVERY_BACKOFF_INITIAL_S": "0.2",
            "TANDEM_DELIVERY_BACKOFF_MAX_S": "1",
            "TANDEM_DELIVERY_MAX_ATTEMPTS": "50",
            "TANDEM_DISPATCHER_POLL_INTERVAL_S": "1",
            "TANDEM_DISPATCHER_BATCH_SIZE": "100",
        }
    )
    log_path = tmp_path / "notifications.log"
    url = f"http://127.0.0.1:{port}"
    bootstrap = isolated_settings["TANDEM_KAFKA_BOOTSTRAP_SERVERS"]
    prefix = isolated_settings["TANDEM_KAFKA_TOPIC_PREFIX"]
    deliveries = mongo_client[database]["deliveries"]
    process = _start(env, log_path)
    try:
        await _ready(url, process, log_path)
        quiet = NotificationPreferences(
            channels={"inapp": False}, muted_types=["welcome", "complete_profile"]
        )
        people = [
            ProfileRegistered(
                employee_id=f"p-{i}",
                version=1,
                status="active",
                email=f"p-{i}@example.com",
                display_name=f"Person {i}",
                notification_preferences=quiet,
            )
            for i in range(MENTORS + 1)
        ]
        await publish_raw(
            bootstrap, prefix + topics.PROFILES, [as_record(new_event(p, source="/t")) for p in people]
        )
        recipients = mongo_client[database]["recipients"]
        await eventually(
            lambda: _at_least(recipients.count_documents({}), MENTORS + 1), "recipients", timeout_s=60
        )

        burst = [
            new_event(
                MentorshipProposed(
                    mentorship_id=f"m-{i}",
                    mentor_id=f"p-{i % MENTORS}",
                    mentee_id=f"p-{MENTORS}",
                    status="proposed",
                    origin="request",
                ),
                source="/t",
            )
            for i in range(EVENTS)
        ]
        expected = {f"{e.id}:p-{i % MENTORS}:email" for i, e in enumerate(burst)}

        killed = asyncio.Event()

        async def publish_burst() -> None:
            # The first part streams in while the service works; the rest comes only once the
            # process is dead, so the kill is in the middle of the burst whatever the speed.
            for start in range(0, EVENTS, 25):
                if start == FIRST_PART:
                    await killed.wait()
                await publish_raw(
                    bootstrap, prefix + topics.MENTORSHIPS, [as_record(e) for e in burst[start : start + 25]]
                )
                await asyncio.sleep(0.1)

        publishing = asyncio.create_task(publish_burst())
        await eventually(
            lambda: _at_least(_async(len(sink.snapshot())), EVENTS // 5), "first emails", timeout_s=120
        )
        # Freeze the SMTP side: from now the server answers 451 (not accepted), so no email is
        # in the window between acceptance and recording when the process dies (that window is
        # at-least-once by design: the Message-ID is the receiver's idempotency key).
        sink.refusing = True
        accepted = {str(r.message["X-Tandem-Delivery-Id"]) for r in sink.snapshot()}
        await eventually(
            lambda: _at_least(
                deliveries.count_documents({"_id": {"$in": list(accepted)}, "status": "delivered"}),
                len(accepted),
            ),
            "accepted emails recorded",
            timeout_s=60,
        )
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL
        killed.set()
        killed_at_recorded = await deliveries.count_documents({})
        killed_at_pending = await deliveries.count_documents({"status": "pending"})
        sink.refusing = False
        process = _start(env, log_path)
        await _ready(url, process, log_path)
        await publishing
        await eventually(
            lambda: _at_least(_async(len(sink.snapshot())), EVENTS),
            "every email after restart",
            timeout_s=180,
        )
        await eventually(
            lambda: _at_least(deliveries.count_documents({"status": "delivered"}), EVENTS),
            "all recorded",
            timeout_s=60,
        )
        await asyncio.sleep(5.0)  # longer than the lease: a resend would show up now
        raw = sink.snapshot()
        per_delivery = Counter(str(r.message["X-Tandem-Delivery-Id"]) for r in raw)
        assert len(accepted) >= EVENTS // 5 and killed_at_recorded <= FIRST_PART < EVENTS, (
            "the kill came mid-burst"
        )
        print(
            f"at the kill: {len(accepted)} emails accepted, {killed_at_recorded} deliveries recorded, "
            f"{killed_at_pending} pending"
        )
        assert set(per_delivery) == expected, "every expected email arrived"
        assert len(raw) == EVENTS, (
            f"raw messages: {len(raw)}, duplicates: {[k for k, n in per_delivery.items() if n > 1][:5]}"
        )
        assert len({str(r.message["Message-ID"]) for r in raw}) == EVENTS
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=40)
        sink.stop()


async def _async(value: int) -> int:
    return value


async def _at_least(awaitable, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return await awaitable >= expected
