"""HTTP request and response bodies."""

from datetime import datetime
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator
from tandem_contracts.registry import EVENT_TYPES

from tandem_notifications.domain.kinds import KINDS
from tandem_notifications.domain.preferences import PERSONAL_CHANNELS

__all__ = ["InboxItem", "InboxPageView", "PreferencesBody", "WebhookCreate", "WebhookView"]


class PreferencesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: dict[str, bool] = Field(default_factory=dict, description="email / inapp: on or off")
    muted_types: list[str] = Field(default_factory=list, description=f"kinds: {', '.join(sorted(KINDS))}")

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: dict[str, bool]) -> dict[str, bool]:
        unknown = set(value) - set(PERSONAL_CHANNELS)
        if unknown:
            raise ValueError(f"unknown channel(s): {sorted(unknown)}")
        return value

    @field_validator("muted_types")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        unknown = set(value) - KINDS
        if unknown:
            raise ValueError(f"unknown notification type(s): {sorted(unknown)}")
        return sorted(set(value))


class InboxItem(BaseModel):
    id: str
    kind: str
    subject: str
    text: str
    read: bool
    created_at: datetime


class InboxPageView(BaseModel):
    items: list[InboxItem]
    next_cursor: str | None
    unread_count: int


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl
    secret: Annotated[str, Field(min_length=16, max_length=256)]
    event_types: Annotated[list[str], Field(min_length=1)]

    @field_validator("event_types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = set(value) - set(EVENT_TYPES)
        if unknown:
            raise ValueError(f"unknown event type(s): {sorted(unknown)}")
        return value


class WebhookView(BaseModel):
    id: str
    url: str
    event_types: list[str]
    created_at: datetime
