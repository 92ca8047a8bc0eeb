"""The dispatcher: sends due deliveries of one channel, in batches, apart from the consumer.

A pass leases due deliveries (one write), sends them concurrently, then records the outcome
of the whole pass as one document whose outbox carries the ``notification.delivered`` and
``notification.failed`` events, and applies it to the deliveries. Transient failures come back
after exponential backoff with jitter; the last failed attempt marks the delivery ``failed``.
A crash before the outcome is recorded leaves the deliveries leased: they are sent again when
the lease expires (at-least-once; the Message-ID lets a receiver drop the repeat). While a pass
is alive it renews its lease every third of it until its outcome is applied, so a slow send or a
slow store never lets another replica (or this one) claim and send what it is still handling.
A pass also never claims what this process sent and is still recording.

What a pass claims comes from the hints of :class:`DeliverySignals` (what this process recorded
or rescheduled, by ``_id``), so a busy dispatcher does not ask the store for everything due on
every pass. The queue is scanned at start, every ``10 x poll interval``, when hints were
dropped, and again after each full scan that found deliveries no hint names (recorded before a
restart or by another replica, leases that expired), until they are all found.
"""

import asyncio
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Protocol

from tandem_chassis.logging import get_logger
from tandem_contracts.notifications import Channel

from tandem_notifications.domain.delivery import DELIVERED, FAILED, Delivery, DeliveryError
from tandem_notifications.domain.outcomes import PassOutcome, outcome_of
from tandem_notifications.service_layer.unit_of_work import UnitOfWork

__all__ = ["Dispatcher", "InboxSender", "Sender"]

log = get_logger(__name__)


class Sender(Protocol):
    @property
    def channel(self) -> Channel: ...
    @property
    def concurrency(self) -> int: ...
    async def send(self, delivery: Delivery) -> None: ...


class InboxSender:
    """In-app notifications are delivered by being stored: nothing to send."""

    channel: Channel = "inapp"
    concurrency = 1_000

    async def send(self, delivery: Delivery) -> None:
        return None


class Dispatcher:
    def __init__(self, uow: UnitOfWork, sender: Sender, *, batch_size: int | None = None) -> None:
        self.uow = uow
        self.sender = sender
        self.channel = sender.channel
        settings = uow.settings
        self.policy = uow.retry_policy
        self.lease = timedelta(seconds=settings.delivery_lease_s)
        self.batch_size = batch_size or settings.dispatcher_batch_size
        self.poll_interval_s = settings.dispatcher_poll_interval_s
        self._slots = asyncio.Semaphore(sender.concurrency)
        self._settling: asyncio.Task[None] | None = None
        self._recording: set[str] = set()  # ids sent by this process whose outcome is being stored
        self.scan_interval = timedelta(seconds=10 * self.poll_interval_s)
        self._next_scan: datetime | None = None  # when the queue is scanned next; None: at once
        self._scan_again = False  # the last scan came back full with unhinted deliveries: more wait

    async def run(self) -> None:
        """Pass after pass until cancelled; a failing pass is logged and retried with backoff."""
        reconciled = False
        ceiling = max(30.0, 10 * self.poll_interval_s)  # as tandem_chassis.concurrency.every
        pause = self.poll_interval_s
        try:
            while True:
                try:
                    if not reconciled:
                        await self.reconcile()
                        reconciled = True
                    handled = await self.run_once()
                    if not handled:
                        await self.settled()
                except asyncio.CancelledError:
                    raise
                except Exception:  # the dispatcher must outlive a store outage, but never hide why
                    log.exception(
                        "dispatcher pass failed; backing off", channel=self.channel, retry_in_s=pause
                    )
                    reconciled = False
                    self._next_scan = None  # the failed pass may have taken hints: scan the queue
                    await asyncio.sleep(pause)
                    pause = min(ceiling, pause * 2)
                    continue
                pause = self.poll_interval_s
                if not handled:
                    await self.uow.signals.wait(self.channel, self.poll_interval_s)
        finally:
            await self._last_settle()

    async def _last_settle(self) -> None:
        """Graceful shutdown: record what was sent before stopping."""
        if self._settling is None or (self._settling.done() and self._settling.cancelled()):
            return
        try:
            await asyncio.shield(self._settling)
        except Exception:
            log.exception(
                "the last dispatcher pass's outcome was not stored; its deliveries go out again "
                "when their lease expires",
                channel=self.channel,
            )

    async def settled(self) -> None:
        """Wait for the outcome of the last pass to be stored (its error, if it failed)."""
        settling, self._settling = self._settling, None
        try:
            if settling is not None:
                await settling
        finally:
            self._recording = set()

    async def reconcile(self) -> None:
        """Apply outcomes recorded before a crash but not yet applied to their deliveries."""
        for outcome in await self.uow.outcomes.unapplied():
            if outcome.channel == self.channel:
                await self._apply(outcome)

    async def run_once(self) -> int:
        """One pass: lease what is due, send it, and start storing the outcome; how many handled."""
        deliveries, now = self.uow.deliveries, self.uow.clock()
        claim_started = time.perf_counter()
        due = await self._due(now)
        if not due:
            return 0
        if self._recording.issuperset(due):  # their lease ran out while their outcome is stored
            await self.settled()
            return len(due)
        due = [d for d in due if d not in self._recording]
        token = uuid.uuid4().hex
        claimed = await deliveries.claim(due, token=token, lease_until=now + self.lease, now=now)
        if not claimed:
            return len(due)
        renewing = asyncio.create_task(self._keep_leased([d.id for d in claimed], token))
        try:
            started = time.perf_counter()
            errors = await asyncio.gather(*(self._attempt(delivery) for delivery in claimed))
            sent = time.perf_counter()
            # Store this pass's outcome while the next pass claims and sends (the leases keep the
            # two apart); at most one outcome is in flight, and its failure surfaces here.
            await self.settled()
        except BaseException:
            renewing.cancel()
            raise
        attempted = list(zip(claimed, errors, strict=True))
        self._settling = asyncio.create_task(self._settle(token, attempted, renewing))
        self._recording = {d.id for d in claimed}
        log.debug(
            "dispatcher pass",
            channel=self.channel,
            claimed=len(claimed),
            claim_ms=round((started - claim_started) * 1000),
            send_ms=round((sent - started) * 1000),
            settle_wait_ms=round((time.perf_counter() - sent) * 1000),
        )
        return len(claimed)

    async def _due(self, now: datetime) -> list[str]:
        """Ids to claim: the hinted ones due, and the queue's when a scan is due (half the batch
        is kept for the scan, so hints never starve what only a scan finds)."""
        signals = self.uow.signals
        scan = (
            self._scan_again
            or signals.overflowed(self.channel)
            or self._next_scan is None
            or now >= self._next_scan
        )
        hinted = signals.take_due(
            self.channel, now=now, limit=self.batch_size // 2 if scan else self.batch_size
        )
        if not scan:
            return hinted
        room = self.batch_size - len(hinted)
        scanned = await self.uow.deliveries.due(self.channel, now=now, limit=room)
        taken = set(hinted)
        found = [delivery_id for delivery_id in scanned if delivery_id not in taken]
        # A full scan with deliveries no hint names (work from before a restart, or left by
        # another replica) is repeated at once; a backlog that is all hinted needs no scan.
        self._scan_again = len(scanned) >= room and bool(signals.unhinted(self.channel, found))
        self._next_scan = now + self.scan_interval
        return hinted + found

    async def _attempt(self, delivery: Delivery) -> DeliveryError | None:
        async with self._slots:
            try:
                await self.sender.send(delivery)
            except DeliveryError as error:
                return error
            except Exception as error:  # an unexpected sender failure is retried like a transient one
                log.exception("sender failed unexpectedly", channel=self.channel, delivery_id=delivery.id)
                return DeliveryError(f"{type(error).__name__}: {error}", transient=True)
        return None

    async def _keep_leased(self, ids: list[str], token: str) -> None:
        """Renew the pass's lease every third of it until cancelled (its outcome applied)."""
        every_s = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.uow.deliveries.renew(ids, token=token, lease_until=self.uow.clock() + self.lease)
            except Exception:  # the lease still holds for two more tries; if it runs out: sent again
                log.warning(
                    "delivery lease not renewed", channel=self.channel, deliveries=len(ids), exc_info=True
                )

    async def _settle(
        self, token: str, attempted: list[tuple[Delivery, DeliveryError | None]], renewing: asyncio.Task[None]
    ) -> None:
        try:
            outcome, events = outcome_of(
                f"{self.channel}:{token}", self.channel, attempted, policy=self.policy, now=self.uow.clock()
            )
            if events:
                await self.uow.outcomes.record(outcome, events)
            await self._apply(outcome, recorded=bool(events))
        finally:
            renewing.cancel()

    async def _apply(self, outcome: PassOutcome, *, recorded: bool = True) -> None:
        deliveries, at = self.uow.deliveries, outcome.created_at
        await deliveries.mark({d.id: d.attempts for d in outcome.delivered}, DELIVERED, at=at)
        by_error: dict[str, dict[str, int]] = defaultdict(dict)
        for failed in outcome.failed:
            by_error[failed.error][failed.id] = failed.attempts
        for error, attempts in by_error.items():
            await deliveries.mark(attempts, FAILED, at=at, error=error)
        for retry in outcome.retry:
            await deliveries.reschedule(retry.ids, at=retry.at, error=retry.error, attempts=retry.attempts)
            self.uow.signals.hint_ids(self.channel, retry.ids, retry.at, ring=False)
        if recorded:
            await self.uow.outcomes.applied(outcome.id, at=self.uow.clock())
