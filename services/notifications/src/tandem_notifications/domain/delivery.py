"""Deliveries: one per (event, recipient, channel); their ids, idempotency keys and failures."""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Final

__all__ = [
    "CANCELLED",
    "DELIVERED",
    "FAILED",
    "NO_EMAIL_ADDRESS",
    "PENDING",
    "SKIPPED",
    "Attachment",
    "Delivery",
    "DeliveryError",
    "InboxPage",
    "delivery_id",
    "message_id",
]

PENDING: Final = "pending"
DELIVERED: Final = "delivered"
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"
SKIPPED: Final = "skipped"  # never sent, and why is in ``last_error`` (e.g. no email address)
NO_EMAIL_ADDRESS: Final = "skipped: the recipient's profile has no email address"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file attached to an email, e.g. an iCalendar invitation.

    ``content_type`` is the full MIME type with its parameters (``text/calendar; method=REQUEST``).
    """

    filename: str
    content_type: str
    content: str

    @classmethod
    def calendar(cls, ics: str, *, default_method: str) -> "Attachment":
        """An RFC 5545 invitation; its MIME ``method`` is the one the ics states (RFC 6047)."""
        method = next(
            (
                line.split(":", 1)[1].strip().upper()
                for line in ics.splitlines()
                if line.upper().startswith("METHOD:")
            ),
            default_method,
        )
        return cls("invite.ics", f"text/calendar; method={method}", ics)

    @property
    def maintype(self) -> str:
        return self.content_type.split(";", 1)[0].split("/", 1)[0].strip()

    @property
    def subtype(self) -> str:
        return self.content_type.split(";", 1)[0].split("/", 1)[-1].strip()

    @property
    def params(self) -> dict[str, str]:
        pairs = (part.split("=", 1) for part in self.content_type.split(";")[1:] if "=" in part)
        return {name.strip(): value.strip().strip('"') for name, value in pairs}


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification on one channel: what is sent, to whom, and how far sending got.

    The content depends on the channel: email has ``to``, ``subject``, ``text``, ``html`` and
    maybe an ``attachment``; the in-app inbox ``subject``, ``text``, ``read`` and ``inbox_key``;
    a webhook its JSON ``body``.
    An erased recipient's deliveries keep no content (all ``None``).
    """

    id: str
    event_id: str
    event_type: str
    event_time: datetime
    created_at: datetime
    kind: str
    channel: str
    recipient_id: str
    next_attempt_at: datetime
    status: str = PENDING
    attempts: int = 0
    subject: str | None = None
    text: str | None = None
    to: str | None = None
    html: str | None = None
    body: str | None = None
    read: bool | None = None
    inbox_key: str | None = None
    last_error: str | None = None
    attachment: Attachment | None = None


@dataclass(frozen=True, slots=True)
class InboxPage:
    items: list[Delivery]
    next_cursor: str | None
    unread: int


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
