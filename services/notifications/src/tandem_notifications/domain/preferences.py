"""Which personal channels a notification goes to, given the recipient's preferences."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["PERSONAL_CHANNELS", "Preferences"]

PERSONAL_CHANNELS: Final = ("email", "inapp")


@dataclass(frozen=True, slots=True)
class Preferences:
    """Channels on/off (absent = on) and muted notification kinds."""

    channels: Mapping[str, bool] = field(default_factory=dict)
    muted_types: frozenset[str] = frozenset()

    @classmethod
    def from_document(cls, document: Mapping[str, Any] | None) -> "Preferences":
        document = document or {}
        return cls(
            channels=dict(document.get("channels") or {}),
            muted_types=frozenset(document.get("muted_types") or ()),
        )

    def as_document(self) -> dict[str, Any]:
        return {"channels": dict(self.channels), "muted_types": sorted(self.muted_types)}

    def channels_for(self, kind: str) -> list[str]:
        """The personal channels ``kind`` is sent on; none when the kind is muted."""
        if kind in self.muted_types:
            return []
        return [channel for channel in PERSONAL_CHANNELS if self.channels.get(channel, True)]
