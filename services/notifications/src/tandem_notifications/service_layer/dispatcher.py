"""The dispatcher: sends due deliveries of one channel, in batches, apart from the consumer.

A pass leases due deliveries (one write), sends them concurrently, then records the outcome
of the whole pass as one document whose outbox carries the ``notification.delivered`` and
``notification.failed`` events, and applies it to the deliveries. Transient failures come back
after exponential backoff with jitter; the last failed attempt marks the delivery ``failed``.
A crash before the outcome is recorded leaves the deliveries leased: they are sent again when
the lease expires (at-least-once; the Message-ID lets a receiver drop the repeat).
"""

import asyncio
import contextlib
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from tandem_chassis.logging import get_logger
from tandem_contracts import EventData, NotificationDelivered, NotificationFailed

from tandem_notifications.adapters.deliveries import DeliveryRepository
from tandem_notifications.adapters.outcomes import OutcomeLog
from tandem_notifications.domain.backoff import RetryPolicy
from tandem_notifications.domain.delivery import DELIVERED, FAILED, DeliveryError

__all__ = ["Dispatcher", "InboxSender", "Sender"]

log = get_logger(__name__)
Document = dict[str, Any]


class Sender(Protocol):
    channel: str
    concurrency: int

    async def send(self, delivery: Document) -> None: ...


class InboxSender:
    """In-app notifications are delivered by being stored: nothing to send."""

    channel = "inapp"
    concurrency = 1_000

    async def send(self, delivery: Document) -> None:
        return None


def _now() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    def __init__(
        self,
        *,
        sender: Sender,
        deliveries: DeliveryRepository,
        outcomes: OutcomeLog,
        policy: RetryPolicy,
        lease_s: float,
        batch_size: int,
        poll_interval_s: float,
        on_outcome: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.sender = sender
        self.channel = sender.channel
        self.deliveries = deliveries
        self.outcomes = outcomes
        self.policy = policy
        self.lease = timedelta(seconds=lease_s)
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.on_outcome = on_outcome
        self.clock = clock
        self.wake = asyncio.Event()
        self._slots = asyncio.Semaphore(sender.concurrency)
        self._settling: asyncio.Task[None] | None = None

    async def run(self) -> None:
        reconciled = False
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
                except Exception as error:  # the dispatcher must outlive a store outage
                    log.warning("dispatcher pass failed", channel=self.channel, error=str(error)[:300])
                    reconciled, handled = False, 0
                if handled:
                    continue
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.poll_interval_s)
        finally:
            # graceful shutdown: record what was sent before stopping
            if self._settling is not None and not self._settling.done():
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._settling)

    async def settled(self) -> None:
        """Wait for the outcome of the last pass to be stored (its error, if it failed)."""
        settling, self._settling = self._settling, None
        if settling is not None:
            await settling

    async def reconcile(self) -> None:
        """Apply outcomes recorded before a crash but not yet applied to their deliveries."""
        for outcome in await self.outcomes.unapplied():
            if outcome.get("channel") == self.channel:
                await self._apply(outcome)

    async def run_once(self) -> int:
        now = self.clock()
        claim_started = time.perf_counter()
        due = await self.deliveries.due(self.channel, now=now, limit=self.batch_size)
        if not due:
            return 0
        token = uuid.uuid4().hex
        claimed = await self.deliveries.claim(due, token=token, lease_until=now + self.lease, now=now)
        if not claimed:
            return len(due)
        started = time.perf_counter()
        errors = await asyncio.gather(*(self._attempt(delivery) for delivery in claimed))
        sent = time.perf_counter()
        # Store this pass's outcome while the next pass claims and sends (the leases keep the
        # two apart); at most one outcome is in flight, and its failure surfaces here.
        await self.settled()
        self._settling = asyncio.create_task(self._settle(token, claimed, errors))
        log.debug(
            "dispatcher pass",
            channel=self.channel,
            claimed=len(claimed),
            claim_ms=round((started - claim_started) * 1000),
            send_ms=round((sent - started) * 1000),
            settle_wait_ms=round((time.perf_counter() - sent) * 1000),
        )
        return len(claimed)

    async def _attempt(self, delivery: Document) -> DeliveryError | None:
        async with self._slots:
            try:
                await self.sender.send(delivery)
            except DeliveryError as error:
                return error
            except Exception as error:  # an unexpected sender failure is retried like a transient one
                return DeliveryError(f"{type(error).__name__}: {error}", transient=True)
        return None

    async def _settle(
        self, token: str, claimed: Sequence[Document], errors: Sequence[DeliveryError | None]
    ) -> None:
        now = self.clock()
        events: list[EventData] = []
        outcome: Document = {
            "channel": self.channel,
            "created_at": now,
            "delivered": [],
            "failed": [],
            "retry": [],
        }
        retries: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for delivery, error in zip(claimed, errors, strict=True):
            common = {
                "notification_id": delivery["_id"],
                "event_id": delivery["event_id"],
                "recipient_id": delivery["recipient_id"],
                "channel": self.channel,
                "kind": delivery["kind"],
                "attempts": delivery["attempts"],
            }
            if error is None:
                outcome["delivered"].append({"id": delivery["_id"], "attempts": delivery["attempts"]})
                events.append(NotificationDelivered(**common, delivered_at=now))
            elif not error.transient or self.policy.exhausted(delivery["attempts"]):
                outcome["failed"].append(
                    {"id": delivery["_id"], "attempts": delivery["attempts"], "error": str(error)[:500]}
                )
                events.append(NotificationFailed(**common, error=str(error)[:500], failed_at=now))
            else:
                retries[delivery["attempts"]].append((delivery["_id"], str(error)[:500]))
        for attempts, failed in retries.items():
            at = now + timedelta(seconds=self.policy.delay_s(attempts))
            outcome["retry"].append(
                {"ids": [i for i, _ in failed], "at": at, "error": failed[0][1], "attempts": attempts}
            )
        if events:
            await self.outcomes.record(f"{self.channel}:{token}", outcome, events)
            self.on_outcome()
        await self._apply({"_id": f"{self.channel}:{token}", **outcome}, recorded=bool(events))

    async def _apply(self, outcome: Document, *, recorded: bool = True) -> None:
        at = outcome["created_at"]
        await self.deliveries.mark({d["id"]: d["attempts"] for d in outcome["delivered"]}, DELIVERED, at=at)
        by_error: dict[str, dict[str, int]] = defaultdict(dict)
        for failed in outcome["failed"]:
            by_error[failed["error"]][failed["id"]] = failed["attempts"]
        for error, attempts in by_error.items():
            await self.deliveries.mark(attempts, FAILED, at=at, error=error)
        for retry in outcome["retry"]:
            await self.deliveries.reschedule(
                retry["ids"], at=retry["at"], error=retry["error"], attempts=retry["attempts"]
            )
        if recorded:
            await self.outcomes.applied(outcome["_id"], at=self.clock())
