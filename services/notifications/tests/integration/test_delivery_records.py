"""Delivery records on the real store: the record says what happened to a delivery."""

from datetime import UTC, datetime, timedelta

import pytest
from tandem_notifications.adapters.deliveries import MongoDeliveries
from tandem_notifications.domain.delivery import CANCELLED, DELIVERED, Delivery

pytestmark = pytest.mark.integration


def _welcome(event_id: str, now: datetime) -> Delivery:
    return Delivery(
        id=f"{event_id}:e-1:email",
        event_id=event_id,
        event_type="profile.registered",
        event_time=now,
        created_at=now,
        kind="welcome",
        channel="email",
        recipient_id="e-1",
        next_attempt_at=now,
    )


async def test_an_email_sent_while_the_recipients_leave_cancelled_it_is_recorded_delivered(
    mongo_client, service_settings
):
    """The race chaos found: a pass claims a pending email, the leaver event cancels the
    recipient's pending deliveries while it is being sent, then the pass marks it delivered."""
    database = mongo_client[service_settings(service="records").database_name]
    deliveries = MongoDeliveries(lambda: database)
    now = datetime.now(UTC)
    sent, unsent = _welcome("sent", now), _welcome("unsent", now)
    try:
        assert await deliveries.add([sent, unsent]) == 2
        claimed = await deliveries.claim(
            [sent.id], token="t", lease_until=now + timedelta(minutes=2), now=now
        )
        assert [d.id for d in claimed] == [sent.id]
        await deliveries.cancel_pending("e-1", at=now)  # the recipient left meanwhile
        await deliveries.mark({sent.id: 1}, DELIVERED, at=now)
        assert (await deliveries.get(sent.id)).status == DELIVERED, "it was sent"
        assert (await deliveries.get(unsent.id)).status == CANCELLED, "never sent: stays cancelled"
    finally:
        await mongo_client.drop_database(database.name)


async def test_a_lease_is_renewed_only_for_its_own_pass_and_never_moves_a_retry(
    mongo_client, service_settings
):
    database = mongo_client[service_settings(service="leases").database_name]
    deliveries = MongoDeliveries(lambda: database)
    now = datetime.now(UTC)
    retried, sending = _welcome("retried", now), _welcome("sending", now)
    lease, later = now + timedelta(seconds=10), now + timedelta(seconds=30)
    try:
        assert await deliveries.add([retried, sending]) == 2
        claimed = await deliveries.claim([retried.id, sending.id], token="t", lease_until=lease, now=now)
        assert len(claimed) == 2
        await deliveries.reschedule([retried.id], at=now + timedelta(hours=1), error="451", attempts=1)
        await deliveries.renew([retried.id, sending.id], token="t", lease_until=later)  # late renewal
        await deliveries.renew([sending.id], token="another pass", lease_until=later + timedelta(hours=9))
        assert await deliveries.due("email", now=later - timedelta(seconds=1), limit=10) == []
        assert await deliveries.due("email", now=later, limit=10) == [sending.id], "renewed to `later`"
        assert set(await deliveries.due("email", now=now + timedelta(hours=1), limit=10)) == {
            retried.id,
            sending.id,
        }
    finally:
        await mongo_client.drop_database(database.name)
