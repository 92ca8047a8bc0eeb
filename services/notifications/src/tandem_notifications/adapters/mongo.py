"""What the Mongo adapters share: the document type, the database they bind to, idempotent inserts.

A repository is built before the service starts (so one unit of work can be wired up front) and
binds to the runtime's database on each call; ``Document`` never leaves ``adapters/``.
"""

from collections.abc import Callable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from tandem_chassis.mongo import DUPLICATE_KEY, insert_new

from tandem_notifications.domain.delivery import Attachment

__all__ = ["DUPLICATE_KEY", "DatabaseOf", "Document", "attachment_document", "attachment_of", "insert_new"]

Document = dict[str, Any]
DatabaseOf = Callable[[], AsyncDatabase[Document]]


def attachment_document(attachment: Attachment | None) -> Document | None:
    if attachment is None:
        return None
    return {
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "content": attachment.content,
    }


def attachment_of(document: Document | None) -> Attachment | None:
    if not document:
        return None
    return Attachment(document["filename"], document["content_type"], document["content"])
