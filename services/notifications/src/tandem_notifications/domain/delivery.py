"""Deliveries: one per (event, recipient, channel); their ids, idempotency keys and failures."""

import hashlib
from typing import Final

__all__ = [
    "CANCELLED",
    "DELIVERED",
    "FAILED",
    "PENDING",
    "DeliveryError",
    "delivery_id",
    "message_id",
]

PENDING: Final = "pending"
DELIVERED: Final = "delivered"
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"


class DeliveryError(Exception):
    """A channel refused or failed a delivery; ``transient`` ones are retried."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def delivery_id(event_id: str, recipient: str, channel: str) -> str:
    return f"{event_id}:{recipient}:{channel}"


def message_id(delivery: str, sender_address: str) -> str:
    """A stable RFC 5322 Message-ID for the delivery: the email's idempotency key."""
    domain = sender_address.rsplit("@", 1)[-1].strip(" >") or "tandem.local"
    return f"<{hashlib.sha256(delivery.encode()).hexdigest()[:40]}@{domain}>"
