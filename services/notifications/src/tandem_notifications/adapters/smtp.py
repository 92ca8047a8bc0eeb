"""Email over SMTP (aiosmtplib) with a small pool of reused sessions."""

import asyncio
import base64
import uuid
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, parseaddr

import aiosmtplib
from tandem_contracts.notifications import Channel

from tandem_notifications.config import Settings
from tandem_notifications.domain.delivery import Delivery, DeliveryError, message_id

__all__ = ["SmtpSender"]


class SmtpSender:
    channel: Channel = "email"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._idle: asyncio.LifoQueue[aiosmtplib.SMTP] = asyncio.LifoQueue()
        self._slots = asyncio.Semaphore(settings.smtp_connections)
        self._envelope_from = parseaddr(settings.smtp_from)[1]

    @property
    def concurrency(self) -> int:
        return self.settings.smtp_connections

    def compose(self, delivery: Delivery) -> EmailMessage:
        email = _Email.of(delivery)
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = message_id(delivery.id, self.settings.smtp_from)
        message["X-Tandem-Delivery-Id"] = delivery.id
        message["X-Tandem-Notification-Kind"] = delivery.kind
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        attachment = delivery.attachment
        if attachment is not None:
            # multipart/mixed around the alternative; the part keeps its ``method`` (RFC 6047)
            message.add_attachment(
                attachment.content,
                subtype=attachment.subtype,
                params=attachment.params,
                filename=attachment.filename,
            )
        return message

    def compose_bytes(self, delivery: Delivery) -> bytes:
        """The message as bytes, built directly: the ``email`` package's header registry and
        generator cost ~10 ms of CPU per message, which capped sending at a few dozen a second.
        Headers that are not plain ASCII, and messages with an attachment, go through
        :meth:`compose`."""
        email = _Email.of(delivery)
        to, subject = email.to, " ".join(email.subject.split())
        plain = to.isascii() and self.settings.smtp_from.isascii() and not any(c in to for c in "\r\n")
        if not plain or delivery.attachment is not None:
            return self.compose(delivery).as_bytes(policy=SMTP_POLICY)
        if not subject.isascii():
            subject = Header(subject, "utf-8").encode()
        boundary = f"=_tandem_{uuid.uuid4().hex}"
        lines = [
            f"From: {self.settings.smtp_from}",
            f"To: {to}",
            f"Subject: {subject}",
            f"Date: {formatdate(localtime=False, usegmt=True)}",
            f"Message-ID: {message_id(delivery.id, self.settings.smtp_from)}",
            f"X-Tandem-Delivery-Id: {delivery.id}",
            f"X-Tandem-Notification-Kind: {delivery.kind}",
            "MIME-Version: 1.0",
            f'Content-Type: multipart/alternative; boundary="{boundary}"',
            "",
        ]
        for subtype, body in (("plain", email.text), ("html", email.html)):
            lines += [
                f"--{boundary}",
                f'Content-Type: text/{subtype}; charset="utf-8"',
                "Content-Transfer-Encoding: base64",
                "",
                base64.encodebytes(body.encode("utf-8")).decode("ascii").replace("\n", "\r\n"),
            ]
        lines += [f"--{boundary}--", ""]
        return "\r\n".join(lines).encode("ascii")

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            timeout=s.smtp_timeout_s,
            start_tls=s.smtp_starttls,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
        )
        await client.connect()
        return client

    async def send(self, delivery: Delivery) -> None:
        message = self.compose_bytes(delivery)
        recipient = _Email.of(delivery).to
        async with self._slots:
            client = self._idle.get_nowait() if not self._idle.empty() else None
            try:
                if client is None or not client.is_connected:
                    client = await self._connect()
                await client.sendmail(self._envelope_from, [recipient], message)
            except aiosmtplib.SMTPResponseException as error:
                await _close(client)
                raise DeliveryError(
                    f"SMTP {error.code}: {error.message}", transient=error.code < 500
                ) from error
            except aiosmtplib.SMTPRecipientsRefused as error:
                await _close(client)
                codes = [refused.code for refused in error.recipients]
                raise DeliveryError(
                    f"SMTP refused recipients: {codes}", transient=all(c < 500 for c in codes)
                ) from error
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
                await _close(client)
                raise DeliveryError(
                    f"SMTP unavailable: {type(error).__name__}: {error}", transient=True
                ) from error
            self._idle.put_nowait(client)

    async def close(self) -> None:
        while not self._idle.empty():
            await _close(self._idle.get_nowait())


@dataclass(frozen=True, slots=True)
class _Email:
    to: str
    subject: str
    text: str
    html: str

    @classmethod
    def of(cls, delivery: Delivery) -> "_Email":
        """The email content of ``delivery``; a delivery without an address or content can never go."""
        if not delivery.to:
            raise DeliveryError("the recipient has no email address", transient=False)
        if delivery.subject is None or delivery.text is None or delivery.html is None:
            raise DeliveryError("the email has no content (erased)", transient=False)
        return cls(delivery.to, delivery.subject, delivery.text, delivery.html)


async def _close(client: aiosmtplib.SMTP | None) -> None:
    if client is None:
        return
    try:
        if client.is_connected:
            client.close()
    except Exception:  # closing a broken session: nothing left to do
        pass
