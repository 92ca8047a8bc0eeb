"""A webhook subscription: a URL that receives signed messages about some event types."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Webhook"]


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    url: str
    secret: str
    event_types: list[str]
    created_by: str
    created_at: datetime
    active: bool = True

    @classmethod
    def new(
        cls, *, url: str, secret: str, event_types: Iterable[str], created_by: str, at: datetime
    ) -> "Webhook":
        return cls(
            id=f"wh-{uuid.uuid4().hex[:16]}",
            url=url,
            secret=secret,
            event_types=sorted(set(event_types)),
            created_by=created_by,
            created_at=at,
        )

    def wants(self, event_type: str) -> bool:
        return self.active and event_type in self.event_types
