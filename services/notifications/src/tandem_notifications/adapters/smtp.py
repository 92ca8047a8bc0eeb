"""Email over SMTP (aiosmtplib) with a small pool of reused sessions."""

import asyncio
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import aiosmtplib

from tandem_notifications.config import Settings
from tandem_notifications.domain.delivery import DeliveryError, message_id

__all__ = ["SmtpSender"]

Document = dict[str, Any]


class SmtpSender:
    channel = "email"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._idle: asyncio.LifoQueue[aiosmtplib.SMTP] = asyncio.LifoQueue()
        self._slots = asyncio.Semaphore(settings.smtp_connections)

    @property
    def concurrency(self) -> int:
        return self.settings.smtp_connections

    def compose(self, delivery: Document) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = delivery["to"]
        message["Subject"] = delivery["subject"]
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = message_id(delivery["_id"], self.settings.smtp_from)
        message["X-Tandem-Delivery-Id"] = delivery["_id"]
        message["X-Tandem-Notification-Kind"] = delivery["kind"]
        message.set_content(delivery["text"])
        message.add_alternative(delivery["html"], subtype="html")
        return message

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

    async def send(self, delivery: Document) -> None:
        message = self.compose(delivery)
        async with self._slots:
            client = self._idle.get_nowait() if not self._idle.empty() else None
            try:
                if client is None or not client.is_connected:
                    client = await self._connect()
                await client.send_message(message)
            except aiosmtplib.SMTPResponseException as error:
                await _close(client)
                raise DeliveryError(f"SMTP {error.code}: {error.message}", transient=error.code < 500) from error
            except aiosmtplib.SMTPRecipientsRefused as error:
                await _close(client)
                codes = [refused.code for refused in error.recipients]
                raise DeliveryError(f"SMTP refused recipients: {codes}", transient=all(c < 500 for c in codes)) from error
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
                await _close(client)
                raise DeliveryError(f"SMTP unavailable: {type(error).__name__}: {error}", transient=True) from error
            self._idle.put_nowait(client)

    async def close(self) -> None:
        while not self._idle.empty():
            await _close(self._idle.get_nowait())


async def _close(client: aiosmtplib.SMTP | None) -> None:
    if client is None:
        return
    try:
        if client.is_connected:
            client.close()
    except Exception:  # closing a broken session: nothing left to do
        pass
