"""The notifications use cases on an in-memory unit of work: no broker, no store, no sockets."""

import asyncio
from datetime import timedelta

import pytest
from tandem_chassis.consumer import Delivery as Origin
from tandem_contracts import (
    CloudEvent,
    EventData,
    MentorshipAccepted,
    MentorshipEnded,
    NotificationDelivered,
    NotificationFailed,
    ProfileDeactivated,
    ProfileErased,
    ProfileRegistered,
    RoundCompleted,
    new_event,
)
from tandem_contracts.notifications import Channel
from tandem_contracts.profiles import NotificationPreferences
from tandem_notifications.domain.delivery import DELIVERED, FAILED, PENDING, Delivery, DeliveryError
from tandem_notifications.domain.preferences import Preferences
from tandem_notifications.domain.webhook import Webhook
from tandem_notifications.entrypoints.events import EventEntrypoints
from tandem_notifications.service_layer import inbox
from tandem_notifications.service_layer.dispatcher import Dispatcher
from tandem_notifications.service_layer.reminders import send_due_reminders

from .fakes import T0, Fakes, fakes

pytestmark = pytest.mark.unit

ORIGIN = Origin(topic="t", partition=0, offset=0, key=None, group_id="g")


def registered(employee_id: str, version: int = 1, **extra: object) -> ProfileRegistered:
    fields: dict[str, object] = {
        "employee_id": employee_id,
        "version": version,
        "status": "active",
        "email": f"{employee_id}@example.com",
        "display_name": f"Person {employee_id}",
        "roles": ["mentee"],
        "goals": [{"name": "go"}],
        "interests": ["chess"],
    }
    return ProfileRegistered.model_validate(fields | extra)


def accepted(mentorship_id: str = "m-1", version: int = 2) -> MentorshipAccepted:
    return MentorshipAccepted(
        mentorship_id=mentorship_id,
        version=version,
        mentor_id="mentor",
        mentee_id="mentee",
        status="accepted",
        accepted_at=T0,
    )


Sent = tuple[CloudEvent, EventData]


def events(*data: EventData) -> list[Sent]:
    """Events as the consumer decodes them: the envelope and its validated data."""
    return [(new_event(one, source="/unit"), one) for one in data]


async def consume(f: Fakes, topic: str, *batch: Sent) -> None:
    """What the chassis consumer does with a batch of records of ``topic``."""
    entrypoints = EventEntrypoints(f.uow)
    handler = {
        "profiles": entrypoints.on_profiles,
        "mentorships": entrypoints.on_mentorships,
        "programs": entrypoints.on_programs,
        "relationships": entrypoints.on_relationships,
    }[topic]
    await handler([(event, data, ORIGIN) for event, data in batch])


def keys(f: Fakes) -> set[tuple[str, str, str]]:
    return {(d.kind, d.recipient_id, d.channel) for d in f.deliveries.stored.values()}


async def test_an_event_is_recorded_once_per_recipient_and_channel_however_often_it_is_redelivered():
    f = fakes()
    profiles = events(registered("mentor"), registered("mentee"))
    await consume(f, "profiles", *profiles)
    mentorship = events(accepted())
    await consume(f, "mentorships", *mentorship)
    first = dict(f.deliveries.stored)
    assert len(first) == 2 * 2 + 2 * 2, "welcome + mentorship_accepted, each on email and inbox, for both"

    for sent in [*profiles, *mentorship]:  # redelivered one by one, as after a failed batch
        topic = "profiles" if sent[0].type.startswith("profile.") else "mentorships"
        await consume(f, topic, sent)
    await consume(f, "mentorships", *mentorship, *mentorship)  # and twice in one batch

    assert f.deliveries.stored == first
    emails = {i for i, d in first.items() if d.channel == "email"}
    assert set(f.deliveries.queue) == emails, "each pending email is queued once"
    inbox = {i: d for i, d in first.items() if d.channel == "inapp"}
    assert {d.status for d in inbox.values()} == {DELIVERED}, "in-app: delivered by being stored"
    delivered = [e.notification_id for e in f.outcomes.events if isinstance(e, NotificationDelivered)]
    assert sorted(delivered) == sorted(inbox), "one notification.delivered each, however often redelivered"


async def test_a_muted_kind_or_channel_is_not_recorded_and_no_address_means_email_skipped_with_the_reason():
    f = fakes()
    quiet = NotificationPreferences(channels={"inapp": False}, muted_types=["mentorship_accepted"])
    await consume(
        f,
        "profiles",
        *events(registered("mentor", notification_preferences=quiet), registered("mentee", email=None)),
    )
    await consume(f, "mentorships", *events(accepted()))
    assert keys(f) == {
        ("welcome", "mentor", "email"),
        ("welcome", "mentee", "inapp"),
        ("welcome", "mentee", "email"),
        ("mentorship_accepted", "mentee", "inapp"),
        ("mentorship_accepted", "mentee", "email"),
    }
    unsendable = [
        d for d in f.deliveries.stored.values() if d.recipient_id == "mentee" and d.channel == "email"
    ]
    assert {d.status for d in unsendable} == {"skipped"}
    assert all("no email address" in (d.last_error or "") for d in unsendable), "the status says why"
    assert all(d.subject is None and d.to is None for d in unsendable), "nothing rendered to send"
    assert not any(f.deliveries.queue.get(d.id) for d in unsendable), "never queued for a dispatcher"


async def test_a_notice_for_someone_not_projected_yet_is_held_then_released_or_dropped():
    f = fakes()
    await consume(f, "mentorships", *events(accepted()))
    assert not f.deliveries.stored
    assert sorted(h.recipient_id for h in f.held.notices.values()) == ["mentee", "mentor"]

    await consume(f, "profiles", *events(registered("mentor")))
    started = [d for d in f.deliveries.stored.values() if d.kind == "mentorship_accepted"]
    assert {d.channel for d in started} == {"email", "inapp"} and {d.recipient_id for d in started} == {
        "mentor"
    }
    assert all("a colleague" in (d.subject or "") for d in started), "the mentee is not known yet"
    assert [h.recipient_id for h in f.held.notices.values()] == ["mentee"]

    await consume(
        f, "profiles", *events(ProfileDeactivated(employee_id="mentee", version=2, status="inactive"))
    )
    assert not f.held.notices, "a leaver's held notification is dropped"
    assert not [d for d in f.deliveries.stored.values() if d.recipient_id == "mentee"]


async def test_held_notices_released_twice_record_nothing_twice():
    f = fakes()
    [early] = events(accepted())
    await consume(f, "mentorships", early)
    await consume(f, "profiles", *events(registered("mentor"), registered("mentee")))
    recorded = dict(f.deliveries.stored)
    await consume(f, "mentorships", early)  # redelivered after the release
    assert f.deliveries.stored == recorded and not f.held.notices


async def test_erasure_forgets_the_inbox_and_the_content_of_every_other_delivery():
    f = fakes()
    await consume(f, "profiles", *events(registered("mentee")))
    await consume(f, "profiles", *events(ProfileErased(employee_id="mentee", version=3, status="erased")))
    left = list(f.deliveries.stored.values())
    assert left and all(d.channel == "email" and d.status == "cancelled" for d in left)
    assert all(d.to is None and d.text is None for d in left)
    recipient = await f.recipients.get("mentee")
    assert recipient is not None and recipient.email is None and recipient.display_name is None


class FlakySender:
    """A channel that fails every send with ``error`` (or succeeds when it is None)."""

    channel: Channel = "webhook"
    concurrency = 4

    def __init__(self, error: DeliveryError | None) -> None:
        self.error = error
        self.sent: list[Delivery] = []

    async def send(self, delivery: Delivery) -> None:
        self.sent.append(delivery)
        if self.error is not None:
            raise self.error


async def _webhook_delivery(f: Fakes) -> str:
    hook = Webhook.new(
        url="https://hooks.example/x",
        secret="s" * 20,
        event_types=["program.round_completed"],
        created_by="admin",
        at=T0,
    )
    await f.webhooks.add(hook)
    round_completed = RoundCompleted(program_id="p", round_id="r", matched=1, unmatched=0, total_score=0.9)
    [(event, data)] = events(round_completed)
    await consume(f, "programs", (event, data))
    return f"{event.id}:{hook.id}:webhook"


async def _pass(f: Fakes, dispatcher: Dispatcher) -> int:
    handled = await dispatcher.run_once()
    await dispatcher.settled()
    return handled


async def test_a_transient_failure_is_retried_with_backoff_then_failed_with_notification_failed():
    f = fakes(delivery_max_attempts=3)
    delivery_id = await _webhook_delivery(f)
    sender = FlakySender(DeliveryError("webhook answered 500", transient=True))
    dispatcher = Dispatcher(f.uow, sender)

    assert await _pass(f, dispatcher) == 1
    assert f.deliveries.stored[delivery_id].status == PENDING
    assert await _pass(f, dispatcher) == 0, "not due again before its backoff"
    for _ in range(2):
        f.clock.advance(hours=1)
        assert await _pass(f, dispatcher) == 1
    f.clock.advance(hours=1)
    assert await _pass(f, dispatcher) == 0, "nothing after the last attempt"

    failed = f.deliveries.stored[delivery_id]
    assert failed.status == FAILED and failed.attempts == 3 and "500" in (failed.last_error or "")
    assert len(sender.sent) == 3
    [event] = [e for e in f.outcomes.events if isinstance(e, NotificationFailed)]
    assert event.notification_id == delivery_id and event.attempts == 3 and event.channel == "webhook"
    assert f.outcomes.applied_ids == set(f.outcomes.recorded), "every outcome was applied"


async def test_a_permanent_failure_fails_at_once_and_a_success_publishes_delivered():
    f = fakes()
    refused = await _webhook_delivery(f)
    await _pass(f, Dispatcher(f.uow, FlakySender(DeliveryError("webhook answered 404", transient=False))))
    assert f.deliveries.stored[refused].status == FAILED and f.deliveries.stored[refused].attempts == 1

    assert not [e for e in f.outcomes.events if isinstance(e, NotificationDelivered)]

    g = fakes()
    ok = await _webhook_delivery(g)
    await _pass(g, Dispatcher(g.uow, FlakySender(None)))
    assert g.deliveries.stored[ok].status == DELIVERED
    assert [e.notification_id for e in g.outcomes.events if isinstance(e, NotificationDelivered)] == [ok]


async def test_the_dispatcher_outlives_a_failing_store_and_sends_once_it_is_back():
    f = fakes()
    delivery_id = await _webhook_delivery(f)
    failures = iter([RuntimeError("store down"), RuntimeError("store still down")])
    real_due = f.deliveries.due

    async def due(channel: str, **kwargs: object) -> list[str]:
        error = next(failures, None)
        if error is not None:
            raise error
        return await real_due(channel, **kwargs)  # type: ignore[arg-type]

    f.deliveries.due = due  # type: ignore[method-assign]
    task = asyncio.create_task(Dispatcher(f.uow, FlakySender(None)).run())
    try:
        for _ in range(500):
            if f.deliveries.stored[delivery_id].status == DELIVERED:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert f.deliveries.stored[delivery_id].status == DELIVERED


async def test_check_in_reminders_are_recorded_once_when_due_and_stop_with_the_mentorship():
    f = fakes(checkin_days=14)
    await consume(f, "profiles", *events(registered("mentor"), registered("mentee")))
    await consume(f, "mentorships", *events(accepted()))

    def reminders() -> set[tuple[str, str]]:
        return {
            (d.event_id, d.recipient_id) for d in f.deliveries.stored.values() if d.kind == "checkin_reminder"
        }

    f.clock.now = T0 + timedelta(days=13)
    assert await send_due_reminders(f.uow) == 0 and not reminders()
    f.clock.now = T0 + timedelta(days=14, minutes=1)
    assert await send_due_reminders(f.uow) == 1
    assert await send_due_reminders(f.uow) == 0, "the schedule moved on"
    assert reminders() == {("checkin:m-1:1", "mentor"), ("checkin:m-1:1", "mentee")}

    f.clock.now = T0 + timedelta(days=60)  # a scheduler that was down for weeks: no catch-up burst
    assert await send_due_reminders(f.uow) == 1
    assert {event for event, _ in reminders()} == {"checkin:m-1:1", "checkin:m-1:2"}

    ended = MentorshipEnded(
        mentorship_id="m-1",
        version=3,
        mentor_id="mentor",
        mentee_id="mentee",
        status="ended",
        reason="completed",
    )
    await consume(f, "mentorships", *events(ended))
    f.clock.now = T0 + timedelta(days=365)
    assert await send_due_reminders(f.uow) == 0
    assert {event for event, _ in reminders()} == {"checkin:m-1:1", "checkin:m-1:2"}


async def test_an_employees_own_preferences_win_over_the_profiles_and_only_they_read_their_inbox():
    f = fakes()
    await consume(f, "profiles", *events(registered("mentor"), registered("mentee")))
    own = Preferences(channels={"email": False}, muted_types=frozenset({"mentorship_accepted"}))
    assert await inbox.set_preferences(f.uow, "mentee", own)
    assert await inbox.preferences_of(f.uow, "mentee") == own
    assert not await inbox.set_preferences(f.uow, "nobody", own)
    await consume(f, "mentorships", *events(accepted()))
    assert {(k, c) for k, r, c in keys(f) if r == "mentee"} == {("welcome", "email"), ("welcome", "inapp")}

    [item] = [d for d in f.deliveries.stored.values() if d.recipient_id == "mentee" and d.channel == "inapp"]
    assert not await inbox.mark_read(f.uow, item.id, reader="mentor"), "not in the mentor's inbox"
    assert await inbox.mark_read(f.uow, item.id, reader="mentee")
    assert (await inbox.inbox_page(f.uow, "mentee", limit=10, cursor=None)).unread == 0


async def test_a_sent_delivery_whose_outcome_is_still_being_stored_is_not_sent_again_after_its_lease():
    f = fakes()
    delivery_id = await _webhook_delivery(f)
    sender = FlakySender(None)
    dispatcher = Dispatcher(f.uow, sender)
    store_slowly, real_mark = asyncio.Event(), f.deliveries.mark

    async def slow_mark(*args: object, **kwargs: object) -> None:
        await store_slowly.wait()  # the store is slow: the outcome lands after the lease ran out
        await real_mark(*args, **kwargs)  # type: ignore[arg-type]

    f.deliveries.mark = slow_mark  # type: ignore[method-assign]
    assert await dispatcher.run_once() == 1
    f.clock.advance(seconds=f.uow.settings.delivery_lease_s + 1)
    assert await f.deliveries.due("webhook", now=f.clock(), limit=10) == [delivery_id], "its lease ran out"

    next_pass = asyncio.create_task(dispatcher.run_once())
    await asyncio.sleep(0.05)
    assert not next_pass.done(), "the next pass waits for the outcome instead of sending again"
    store_slowly.set()
    await next_pass
    assert await _pass(f, dispatcher) == 0
    assert len(sender.sent) == 1 and f.deliveries.stored[delivery_id].status == DELIVERED


class HeldSender(FlakySender):
    """A channel whose sends succeed only once ``release`` is set (a slow SMTP server)."""

    def __init__(self) -> None:
        super().__init__(None)
        self.release = asyncio.Event()

    async def send(self, delivery: Delivery) -> None:
        await self.release.wait()
        await super().send(delivery)


async def test_a_pass_renews_its_lease_so_another_replica_never_sends_what_it_is_still_sending():
    lease_s = 0.3  # real seconds: the renewal runs every third of it
    f = fakes(delivery_lease_s=lease_s, smtp_timeout_s=0.1, webhook_timeout_s=0.1)
    delivery_id = await _webhook_delivery(f)
    slow, other = HeldSender(), FlakySender(None)
    replica_a, replica_b = Dispatcher(f.uow, slow), Dispatcher(f.uow, other)
    sending = asyncio.create_task(replica_a.run_once())
    await asyncio.sleep(0.05)
    for _ in range(3):  # well past the first lease, on the store's clock and on the real one
        f.clock.advance(seconds=lease_s * 2)
        await asyncio.sleep(lease_s)
        assert await f.deliveries.due("webhook", now=f.clock(), limit=10) == [], "the lease was renewed"
        assert await _pass(f, replica_b) == 0
    slow.release.set()
    assert await sending == 1
    await replica_a.settled()
    assert f.deliveries.stored[delivery_id].status == DELIVERED
    assert [d.id for d in slow.sent] == [delivery_id] and other.sent == []


def _count_scans(f: Fakes) -> list[str]:
    """The channels of every queue scan (``deliveries.due``) from now on."""
    scans: list[str] = []
    real_due = f.deliveries.due

    async def due(channel: str, **kwargs: object) -> list[str]:
        scans.append(channel)
        return await real_due(channel, **kwargs)  # type: ignore[arg-type]

    f.deliveries.due = due  # type: ignore[method-assign]
    return scans


def _unhinted(f: Fakes, count: int) -> list[Delivery]:
    """Webhook deliveries recorded by someone else (another replica): no hint reaches us."""
    return [
        Delivery(
            id=f"other-{n}:hook:webhook",
            event_id=f"other-{n}",
            event_type="program.round_completed",
            event_time=T0,
            created_at=T0,
            kind="webhook",
            channel="webhook",
            recipient_id="hook",
            next_attempt_at=f.clock(),
        )
        for n in range(count)
    ]


async def test_a_pass_claims_what_this_process_recorded_by_its_hint_and_scans_the_queue_now_and_then():
    f = fakes()
    scans = _count_scans(f)
    dispatcher = Dispatcher(f.uow, FlakySender(None))
    await _webhook_delivery(f)
    assert await _pass(f, dispatcher) == 1 and scans == ["webhook"], "a scan at start"

    await _webhook_delivery(f)  # a second hook: the event goes to both
    assert await _pass(f, dispatcher) == 2
    assert scans == ["webhook"], "claimed by the hints alone"
    assert {d.status for d in f.deliveries.stored.values()} == {DELIVERED}

    f.clock.advance(seconds=10 * f.uow.settings.dispatcher_poll_interval_s)
    assert await _pass(f, dispatcher) == 0 and scans == ["webhook"] * 2, "every ten poll intervals"


async def test_deliveries_no_hint_names_are_found_by_the_scan_which_repeats_while_it_comes_back_full():
    f = fakes(dispatcher_batch_size=4)
    scans = _count_scans(f)
    dispatcher = Dispatcher(f.uow, FlakySender(None))
    assert await _pass(f, dispatcher) == 0
    await f.deliveries.add(_unhinted(f, 6))
    assert await _pass(f, dispatcher) == 0, "no hint, no scan due yet"

    f.clock.advance(seconds=10 * f.uow.settings.dispatcher_poll_interval_s)
    assert [await _pass(f, dispatcher) for _ in range(4)] == [4, 2, 0, 0]
    assert len(scans) == 3, "at start, when due, again after a full scan; then not before it is due"
    assert {d.status for d in f.deliveries.stored.values()} == {DELIVERED}


async def test_dropped_hints_make_the_next_pass_scan_the_queue():
    f = fakes()
    f.uow.signals.max_hints = 2
    dispatcher = Dispatcher(f.uow, FlakySender(None))
    assert await _pass(f, dispatcher) == 0
    for _ in range(3):  # the third hook's event hints three deliveries: one more than kept
        await _webhook_delivery(f)
    assert await _pass(f, dispatcher) == 6
    assert {d.status for d in f.deliveries.stored.values()} == {DELIVERED}


async def test_a_retry_is_hinted_for_its_time_and_needs_no_scan():
    f = fakes(dispatcher_poll_interval_s=60.0)  # the next scan is ten minutes away
    scans = _count_scans(f)
    sender = FlakySender(DeliveryError("webhook answered 503", transient=True))
    dispatcher = Dispatcher(f.uow, sender)
    delivery_id = await _webhook_delivery(f)
    assert await _pass(f, dispatcher) == 1
    assert await _pass(f, dispatcher) == 0, "not before its backoff"
    sender.error = None
    f.clock.advance(seconds=f.uow.settings.delivery_backoff_initial_s)
    assert await _pass(f, dispatcher) == 1
    assert f.deliveries.stored[delivery_id].status == DELIVERED and len(scans) == 1


async def test_a_backlog_that_is_all_hinted_is_not_scanned_again_on_every_pass():
    f = fakes(dispatcher_batch_size=4)
    scans = _count_scans(f)
    dispatcher = Dispatcher(f.uow, FlakySender(None))
    assert await _pass(f, dispatcher) == 0
    backlog = _unhinted(f, 10)
    await f.deliveries.add(backlog)
    f.uow.signals.hint(backlog)  # recorded here after all
    f.clock.advance(seconds=10 * f.uow.settings.dispatcher_poll_interval_s)
    assert [await _pass(f, dispatcher) for _ in range(4)] == [2, 4, 4, 0], "the scan found what was taken"
    assert len(scans) == 2, "at start, and once when due: the full scan found only hinted deliveries"
    assert {d.status for d in f.deliveries.stored.values()} == {DELIVERED}
