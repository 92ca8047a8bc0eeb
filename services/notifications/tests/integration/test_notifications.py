"""The notifications service in-process on the real broker and store, with a real SMTP server
and a real HTTP receiver."""

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from tandem_chassis.testing import eventually, read_topic
from tandem_contracts import (
    MentorshipAccepted,
    MentorshipDeclined,
    MentorshipEnded,
    MentorshipExpired,
    MentorshipProposed,
    ProfileDeactivated,
    ProfileErased,
    ProfileRegistered,
    RoundCompleted,
    topics,
)
from tandem_contracts.profiles import NotificationPreferences
from tandem_notifications.domain.kinds import CHECKIN_EVENT_TYPE, checkin_intents
from tandem_notifications.domain.notices import Notice
from tandem_notifications.domain.reminders import CheckinSchedule, checkin_event_id
from tandem_notifications.service_layer.notify import record_notices

from ..support import token

pytestmark = pytest.mark.integration

PEOPLE = {
    "mentor-1": ("Grace Hopper", "grace@example.com"),
    "mentee-1": ("Alan Turing", "alan@example.com"),
    "admin-1": ("Ada Lovelace", "ada@example.com"),
}


def registered(employee_id: str, version: int = 1, **extra: object) -> ProfileRegistered:
    name, address = PEOPLE.get(employee_id, (f"Person {employee_id}", f"{employee_id}@example.com"))
    return ProfileRegistered(
        employee_id=employee_id, version=version, status="active", email=address, display_name=name, **extra
    )  # type: ignore[arg-type]


def pair(model, mentorship_id="m-1", version=1, **extra):  # type: ignore[no-untyped-def]
    status = {
        MentorshipProposed: "proposed",
        MentorshipAccepted: "accepted",
        MentorshipDeclined: "declined",
        MentorshipExpired: "expired",
        MentorshipEnded: "ended",
    }[model]
    return model(
        mentorship_id=mentorship_id,
        version=version,
        mentor_id="mentor-1",
        mentee_id="mentee-1",
        status=status,
        **extra,
    )


async def _known(running, *ids: str) -> None:
    recipients = running.db["recipients"]
    await eventually(
        lambda: _count(recipients, {"_id": {"$in": list(ids)}}, len(ids)),
        "recipients projected",
        timeout_s=60,
    )


async def _count(collection, query, expected):  # type: ignore[no-untyped-def]
    return await collection.count_documents(query) >= expected


async def _exactly(collection, query, expected):  # type: ignore[no-untyped-def]
    return await collection.count_documents(query) == expected


def subjects(sink, address: str) -> list[str]:
    return sorted(str(m["Subject"]) for m in sink.to(address))


async def test_each_event_sends_exactly_the_expected_messages_and_a_redelivery_sends_nothing_new(
    start_service, smtp_sink, webhook_receiver
):
    running = await start_service()
    hook = await running.http.post(
        "/v1/webhooks",
        json={
            "url": f"http://127.0.0.1:{webhook_receiver.port}/hook",
            "secret": webhook_receiver.secret,
            "event_types": ["mentorship.accepted", "program.round_completed"],
        },
        headers=token("admin-1", "program_admin"),
    )
    assert hook.status_code == 201, hook.text
    assert (
        await running.http.post(
            "/v1/webhooks", json=hook.json() | {"secret": "x" * 20}, headers=token("mentee-1")
        )
    ).status_code in (403, 422)

    profiles = await running.emit(topics.PROFILES, *(registered(i) for i in PEOPLE))
    await _known(running, *PEOPLE)
    events = await running.emit(
        topics.MENTORSHIPS,
        pair(MentorshipProposed, "m-req", origin="request", message="Teach me compilers?"),
        pair(MentorshipProposed, "m-round", origin="round", score=0.82, reasons=["goal fit: compilers"]),
        pair(MentorshipAccepted, "m-round", version=2),
        pair(MentorshipDeclined, "m-req", version=2),
        pair(MentorshipExpired, "m-exp", version=2),
        pair(MentorshipEnded, "m-round", version=3, reason="mentor_left"),
        pair(MentorshipProposed, "m-new", origin="reproposal", replaces_mentorship_id="m-round"),
    )
    events += await running.emit(
        topics.PROGRAMS,
        RoundCompleted(
            program_id="p-1",
            round_id="r-1",
            program_name="Spring cohort",
            admin_ids=["admin-1"],
            matched=12,
            unmatched=2,
            unmatched_reasons={"no_capacity": 2},
            total_score=9.6,
            mean_score=0.8,
            min_score=0.41,
            mentor_load={"1": 8, "2": 2},
        ),
    )
    expected = {
        "grace@example.com": sorted(
            [
                "Welcome to Tandem, Grace Hopper",
                "Complete your mentoring profile",
                "Alan Turing asks you to be their mentor",
                "The program round suggests a mentoring pair: Alan Turing",
                "Your mentorship with Alan Turing has started",
                "Mentorship with Alan Turing declined",
                "Mentorship proposal with Alan Turing expired",
                "Your mentorship with Alan Turing has ended",
                "A mentee whose mentor left has been suggested to you: Alan Turing",
            ]
        ),
        "alan@example.com": sorted(
            [
                "Welcome to Tandem, Alan Turing",
                "Complete your mentoring profile",
                "The program round suggests a mentoring pair: Grace Hopper",
                "Your mentorship with Grace Hopper has started",
                "Mentorship with Grace Hopper declined",
                "Mentorship proposal with Grace Hopper expired",
                "Your mentorship with Grace Hopper has ended",
                "Your mentor has left; here is a new suggestion: Grace Hopper",
            ]
        ),
        "ada@example.com": sorted(
            [
                "Welcome to Tandem, Ada Lovelace",
                "Complete your mentoring profile",
                "Matching round completed for Spring cohort: 12 matched, 2 unmatched",
            ]
        ),
    }
    total = sum(len(v) for v in expected.values())
    await eventually(
        lambda: _ready(len(smtp_sink.snapshot()) >= total and len(webhook_receiver.calls) >= 2),
        "emails sent",
        timeout_s=60,
    )

    # Kafka redelivers every event: nothing new may be sent
    await running.publish(topics.PROFILES, *profiles)
    await running.publish(topics.MENTORSHIPS, *events[:-1])
    await running.publish(topics.PROGRAMS, events[-1])
    deliveries = running.db["deliveries"]
    await eventually(
        lambda: _count(deliveries, {"status": "delivered"}, 2 * total + 2), "all delivered", timeout_s=60
    )
    await asyncio.sleep(2.0)  # room for a duplicate to show up, were one sent

    assert len(smtp_sink.snapshot()) == total, "raw messages, not distinct ids: nothing sent twice"
    for address, wanted in expected.items():
        assert subjects(smtp_sink, address) == wanted
    message_ids = [str(r.message["Message-ID"]) for r in smtp_sink.snapshot()]
    assert len(set(message_ids)) == total
    ended = next(m for m in smtp_sink.to("alan@example.com") if "has ended" in str(m["Subject"]))
    assert "your mentor has left" in ended.get_body(("plain",)).get_content()
    assert "<strong>Grace Hopper</strong>" in ended.get_body(("html",)).get_content()
    round_mail = (
        smtp_sink.to("ada@example.com")[-1]
        if "round" in str(smtp_sink.to("ada@example.com")[-1]["Subject"])
        else next(m for m in smtp_sink.to("ada@example.com") if "round" in str(m["Subject"]))
    )
    text = round_mail.get_body(("plain",)).get_content()
    assert (
        "Matched: 12" in text
        and "no_capacity: 2" in text
        and "Mean score: 0.80" in text
        and "Lowest score: 0.41" in text
    )
    request = next(m for m in smtp_sink.to("grace@example.com") if "asks you" in str(m["Subject"]))
    assert "Teach me compilers?" in request.get_body(("plain",)).get_content()

    assert len(webhook_receiver.calls) == 2 and all(call.verified for call in webhook_receiver.calls)
    assert sorted(webhook_receiver.texts())[0].startswith(
        "Matching round r-1 of Spring cohort completed: 12 matched"
    )
    body = json.loads(webhook_receiver.calls[0].body)
    assert set(body) == {"text", "blocks"} and body["blocks"][0]["type"] == "section"

    inbox = await running.http.get("/v1/employees/mentee-1/notifications?limit=3", headers=token("mentee-1"))
    assert inbox.status_code == 200, inbox.text
    page = inbox.json()
    assert page["unread_count"] == len(expected["alan@example.com"]) and len(page["items"]) == 3
    older = await running.http.get(
        f"/v1/employees/mentee-1/notifications?limit=50&cursor={page['next_cursor']}",
        headers=token("mentee-1"),
    )
    assert len(older.json()["items"]) == len(expected["alan@example.com"]) - 3
    assert older.json()["next_cursor"] is None
    first = page["items"][0]["id"]
    assert (
        await running.http.post(f"/v1/notifications/{first}/read", headers=token("mentor-1"))
    ).status_code == 404
    assert (
        await running.http.post(f"/v1/notifications/{first}/read", headers=token("mentee-1"))
    ).status_code == 204
    after = (await running.http.get("/v1/employees/mentee-1/notifications", headers=token("mentee-1"))).json()
    assert after["unread_count"] == len(expected["alan@example.com"]) - 1
    assert (
        await running.http.get("/v1/employees/mentee-1/notifications", headers=token("mentor-1"))
    ).status_code == 403

    published = await read_topic(
        running.settings.kafka_bootstrap_servers,
        running.topic(topics.NOTIFICATIONS),
        until=2 * total + 2,
        timeout_s=60,
    )
    kinds = [dict(r.headers)["ce_type"] for r in published]
    assert set(kinds) == {b"notification.delivered"}
    assert len({r.key for r in published}) == 2 * total + 2, "one delivered event per delivery"


async def _ready(value: bool) -> bool:
    return value


async def test_a_muted_type_is_not_sent_and_employees_change_only_their_own_preferences(
    start_service, smtp_sink
):
    running = await start_service()
    await running.emit(
        topics.PROFILES,
        registered("mentor-1", roles=["mentor"], skills=[{"name": "go"}], interests=["x"]),
        registered("mentee-1", notification_preferences=NotificationPreferences(channels={"inapp": False})),
    )
    await _known(running, "mentor-1", "mentee-1")
    own = await running.http.get("/v1/employees/mentee-1/preferences", headers=token("mentee-1"))
    assert own.json() == {"channels": {"inapp": False}, "muted_types": []}, (
        "from the profile until changed here"
    )
    change = {"channels": {"email": True, "inapp": True}, "muted_types": ["mentorship_accepted"]}
    assert (
        await running.http.put("/v1/employees/mentor-1/preferences", json=change, headers=token("mentee-1"))
    ).status_code == 403
    assert (
        await running.http.put(
            "/v1/employees/mentee-1/preferences", json={"muted_types": ["nope"]}, headers=token("mentee-1")
        )
    ).status_code == 422
    put = await running.http.put("/v1/employees/mentee-1/preferences", json=change, headers=token("mentee-1"))
    assert put.status_code == 200 and put.json() == change

    await running.emit(
        topics.MENTORSHIPS,
        pair(MentorshipAccepted, "m-1", version=2),
        pair(MentorshipEnded, "m-1", version=3, reason="completed"),
    )
    await eventually(
        lambda: _ready(
            len(smtp_sink.to("alan@example.com")) >= 3 and len(smtp_sink.to("grace@example.com")) >= 3
        ),
        "emails",
        timeout_s=60,
    )
    await asyncio.sleep(1.5)
    assert subjects(smtp_sink, "alan@example.com") == sorted(
        [
            "Welcome to Tandem, Alan Turing",
            "Complete your mentoring profile",
            "Your mentorship with Grace Hopper has ended",
        ]
    )
    assert "Your mentorship with Alan Turing has started" in subjects(smtp_sink, "grace@example.com")
    assert "Complete your mentoring profile" not in subjects(smtp_sink, "grace@example.com"), (
        "her profile is complete"
    )


async def test_an_erased_employees_inbox_and_personal_data_are_gone(start_service, smtp_sink):
    running = await start_service()
    await running.emit(topics.PROFILES, registered("mentee-1"))
    inbox = "/v1/employees/mentee-1/notifications"
    await eventually(lambda: _inbox_size(running, inbox, 2), "inbox filled", timeout_s=60)
    await eventually(lambda: _ready(len(smtp_sink.to("alan@example.com")) == 2), "emails", timeout_s=60)
    erased = ProfileErased(employee_id="mentee-1", version=3, status="erased")
    await running.emit(topics.PROFILES, erased)
    await eventually(lambda: _inbox_size(running, inbox, 0, exact=True), "inbox emptied", timeout_s=60)
    recipient = await running.db["recipients"].find_one({"_id": "mentee-1"})
    assert (
        recipient["status"] == "erased" and recipient["email"] is None and recipient["display_name"] is None
    )
    left = await running.db["deliveries"].find({"recipient_id": "mentee-1"}).to_list()
    assert left and all(d["channel"] == "email" and "to" not in d and "text" not in d for d in left)
    assert (
        await running.http.get("/v1/employees/mentee-1/preferences", headers=token("mentee-1"))
    ).status_code == 404
    await running.emit(topics.MENTORSHIPS, pair(MentorshipProposed, "m-9", origin="round"))
    await running.emit(topics.PROFILES, registered("mentee-1", version=1))  # stale: changes nothing
    await asyncio.sleep(2.0)
    assert len(smtp_sink.to("alan@example.com")) == 2 and await _inbox_size(running, inbox, 0, exact=True)


async def test_a_mentorship_event_before_the_profiles_is_sent_once_they_arrive(start_service, smtp_sink):
    """Topics are not ordered with each other: a consumer catching up after a restart can read a
    mentorship event before the profiles of the pair. Nobody's email may be lost to that."""
    running = await start_service()
    held = running.db["held_notices"]
    accepted = pair(MentorshipAccepted, "m-early", version=2)
    [accepted_event] = await running.emit(topics.MENTORSHIPS, accepted)
    await eventually(lambda: _count(held, {}, 2), "both notifications held", timeout_s=60)
    assert not smtp_sink.to("grace@example.com") and not smtp_sink.to("alan@example.com")

    await running.emit(topics.PROFILES, registered("mentor-1"))
    await eventually(
        lambda: _ready(len(smtp_sink.to("grace@example.com")) == 3), "mentor's emails", timeout_s=60
    )
    started = [s for s in subjects(smtp_sink, "grace@example.com") if "has started" in s]
    assert started == ["Your mentorship with a colleague has started"], "the mentee is not known yet"
    assert await held.count_documents({}) == 1, "the mentee's notification still waits for the mentee"

    await running.emit(topics.PROFILES, registered("mentee-1"))
    await eventually(
        lambda: _ready(len(smtp_sink.to("alan@example.com")) == 3), "mentee's emails", timeout_s=60
    )
    started = [s for s in subjects(smtp_sink, "alan@example.com") if "has started" in s]
    assert started == ["Your mentorship with Grace Hopper has started"]
    assert await held.count_documents({}) == 0

    await running.publish(topics.MENTORSHIPS, accepted_event)  # redelivered: nothing new, nothing held
    ended = MentorshipEnded(
        mentorship_id="m-gone", version=3, mentor_id="x-9", mentee_id="x-8", status="ended"
    )
    await running.emit(topics.MENTORSHIPS, ended)
    await eventually(lambda: _count(held, {"recipient_id": {"$in": ["x-8", "x-9"]}}, 2), "held", timeout_s=60)
    await running.emit(topics.PROFILES, ProfileDeactivated(employee_id="x-9", version=2, status="inactive"))
    await eventually(
        lambda: _count(running.db["recipients"], {"_id": "x-9"}, 1), "x-9 projected", timeout_s=60
    )
    await eventually(
        lambda: _none(held, {"recipient_id": "x-9"}), "a leaver's held notification is dropped", timeout_s=60
    )
    await asyncio.sleep(2.0)
    assert len(smtp_sink.to("grace@example.com")) == 3 and len(smtp_sink.to("alan@example.com")) == 3
    assert not smtp_sink.to("x-9@example.com")
    assert [d["recipient_id"] for d in await held.find({}).to_list()] == ["x-8"], "x-8 still unknown"


async def _none(collection, query) -> bool:  # type: ignore[no-untyped-def]
    return await collection.count_documents(query) == 0


async def _inbox_size(running, path: str, size: int, exact: bool = False) -> bool:  # type: ignore[no-untyped-def]
    page = (await running.http.get(path + "?limit=100", headers=token("mentee-1"))).json()
    return len(page["items"]) == size if exact else len(page["items"]) >= size


async def test_a_webhook_answering_500_is_retried_then_failed_and_notification_failed_is_published(
    start_service, webhook_receiver
):
    webhook_receiver.status = 500
    running = await start_service(delivery_max_attempts=3)
    created = await running.http.post(
        "/v1/webhooks",
        json={
            "url": f"http://127.0.0.1:{webhook_receiver.port}/",
            "secret": webhook_receiver.secret,
            "event_types": ["program.round_completed"],
        },
        headers=token("admin-1", "program_admin"),
    )
    hook_id = created.json()["id"]
    [event] = await running.emit(
        topics.PROGRAMS,
        RoundCompleted(program_id="p-1", round_id="r-1", matched=1, unmatched=0, total_score=0.9),
    )
    delivery_id = f"{event.id}:{hook_id}:webhook"
    deliveries = running.db["deliveries"]
    failed = await eventually(
        lambda: deliveries.find_one({"_id": delivery_id, "status": "failed"}), "failed", timeout_s=60
    )
    assert failed["attempts"] == 3 and "500" in failed["last_error"]
    assert len(webhook_receiver.calls) == 3 and all(call.verified for call in webhook_receiver.calls)
    assert len({call.headers["X-Tandem-Signature"] for call in webhook_receiver.calls}) >= 1
    records = await read_topic(
        running.settings.kafka_bootstrap_servers,
        running.topic(topics.NOTIFICATIONS),
        until=lambda rs: any(dict(r.headers)["ce_type"] == b"notification.failed" for r in rs),
    )
    failure = next(r for r in records if dict(r.headers)["ce_type"] == b"notification.failed")
    data = json.loads(failure.value)
    assert data["notification_id"] == delivery_id and data["attempts"] == 3 and data["channel"] == "webhook"


async def test_an_smtp_outage_of_30_seconds_delays_emails_but_loses_none_and_never_blocks_the_consumer(
    start_service, smtp_sink
):
    running = await start_service(delivery_max_attempts=30, delivery_backoff_max_s=2.0)
    smtp_sink.stop()
    outage_started = asyncio.get_running_loop().time()
    await running.emit(topics.PROFILES, *(registered(f"e-{i}") for i in range(10)))
    deliveries = running.db["deliveries"]
    # the consumer keeps going: in-app notifications arrive during the outage
    await eventually(
        lambda: _count(deliveries, {"channel": "inapp", "status": "delivered"}, 20),
        "in-app during outage",
        timeout_s=25,
    )
    await eventually(
        lambda: _count(deliveries, {"channel": "email", "attempts": {"$gte": 2}}, 20),
        "email retried",
        timeout_s=25,
    )
    await asyncio.sleep(max(0.0, 30.0 - (asyncio.get_running_loop().time() - outage_started)))
    assert await deliveries.count_documents({"channel": "email", "status": "delivered"}) == 0
    smtp_sink.start()
    await eventually(
        lambda: _count(deliveries, {"channel": "email", "status": "delivered"}, 20),
        "emails after outage",
        timeout_s=30,
    )
    await asyncio.sleep(1.0)
    raw = smtp_sink.snapshot()
    assert len(raw) == 20 and len({str(r.message["Message-ID"]) for r in raw}) == 20
    assert await deliveries.count_documents({"status": "failed"}) == 0


async def test_emails_are_claimed_by_id_without_scanning_the_queue_and_the_inbox_needs_no_pass(
    start_service, smtp_sink
):
    """The consumer hints each recorded email to its dispatcher, which claims it by ``_id``;
    asking the store for everything due reads the whole queue on the local store, so it is done
    at start and then only every ten poll intervals (here 300 s): not once per wave of events.
    In-app notifications need no pass at all: they are stored delivered."""
    running = await start_service(dispatcher_poll_interval_s=30.0)
    scans: list[str] = []
    deliveries, real_due = running.uow.deliveries, running.uow.deliveries.due

    async def due(channel: str, **kwargs: Any) -> list[str]:
        scans.append(channel)
        return await real_due(channel, **kwargs)

    deliveries.due = due  # type: ignore[method-assign]
    claimed: list[str] = []
    real_claim = deliveries.claim

    async def claim(ids: Any, **kwargs: Any) -> list[Any]:
        leased = await real_claim(ids, **kwargs)
        claimed.extend(delivery.channel for delivery in leased)
        return leased

    deliveries.claim = claim  # type: ignore[method-assign]
    waves = 5
    for wave in range(waves):
        await running.emit(topics.PROFILES, *(registered(f"w{wave}-{n}") for n in range(2)))
        sent = 4 * (wave + 1)
        await eventually(
            lambda sent=sent: _ready(len(smtp_sink.snapshot()) >= sent), f"wave {wave}", timeout_s=30
        )
        await eventually(
            lambda sent=sent: _count(
                running.db["deliveries"], {"channel": "inapp", "status": "delivered"}, sent
            ),
            f"wave {wave} in-app",
            timeout_s=30,
        )
    assert len(smtp_sink.snapshot()) == 4 * waves
    queue = running.db["delivery_queue"]
    await eventually(
        lambda: _exactly(queue, {}, 0), "every delivery finished (its outcome stored)", timeout_s=30
    )
    assert Counter(scans) <= Counter(["email", "inapp", "webhook"]), f"scans {Counter(scans)}"
    assert Counter(claimed) == {"email": 4 * waves}, "in-app notifications are delivered by being stored"


async def test_checkin_reminders_come_every_interval_while_active_and_never_twice(start_service, smtp_sink):
    running = await start_service(checkin_days=2.0 / 86400)
    await running.emit(topics.PROFILES, registered("mentor-1"), registered("mentee-1"))
    await _known(running, "mentor-1", "mentee-1")
    await running.emit(
        topics.MENTORSHIPS, pair(MentorshipAccepted, "m-1", version=2, accepted_at=datetime.now(UTC))
    )
    reminder = "Time to check in with"

    def reminders(address: str) -> list[str]:
        return [str(m["Subject"]) for m in smtp_sink.to(address) if reminder in str(m["Subject"])]

    await eventually(
        lambda: _ready(len(reminders("alan@example.com")) >= 2 and len(reminders("grace@example.com")) >= 2),
        "two reminders each",
        timeout_s=30,
    )
    await running.emit(topics.MENTORSHIPS, pair(MentorshipEnded, "m-1", version=3, reason="completed"))
    schedules = running.db["reminders"]
    await eventually(
        lambda: schedules.find_one({"_id": "m-1", "active": False}), "schedule stopped", timeout_s=30
    )
    await asyncio.sleep(1.0)
    settled = len(reminders("alan@example.com"))
    # a scheduler pass repeated from before the advance (a crash, a second replica) records nothing new
    deliveries = running.db["deliveries"]
    numbers = await deliveries.distinct("event_id", {"kind": "checkin_reminder"})
    assert sorted(numbers) == sorted({checkin_event_id("m-1", n) for n in range(1, len(numbers) + 1)})
    started = datetime.now(UTC)
    schedule = CheckinSchedule("m-1", "mentor-1", "mentee-1", started_at=started, next_due_at=started)
    repeated = Notice(checkin_event_id("m-1", 1), CHECKIN_EVENT_TYPE, None, checkin_intents(schedule, 1))
    await record_notices(running.uow, [repeated])
    await asyncio.sleep(4.0)  # two more intervals: an ended mentorship gets no reminder
    assert len(reminders("alan@example.com")) == settled
    raw = [r.message for r in smtp_sink.snapshot() if reminder in str(r.message["Subject"])]
    assert len(raw) == len({str(m["Message-ID"]) for m in raw}), "each reminder sent once"
    assert (
        "check-in reminder 1" in raw[0].get_body(("plain",)).get_content()
        or "check-in reminder 2" in raw[0].get_body(("plain",)).get_content()
    )
