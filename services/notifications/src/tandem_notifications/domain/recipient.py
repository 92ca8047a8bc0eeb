"""A recipient: what notifying an employee needs from their profile."""

from dataclasses import dataclass, field

from tandem_notifications.domain.preferences import Preferences

__all__ = ["Recipient"]


@dataclass(frozen=True, slots=True)
class Recipient:
    """``preferences`` are the effective ones: as the employee set them here, else the profile's.

    ``email`` may be absent (an employee without an address gets inbox messages only).
    """

    employee_id: str
    status: str
    email: str | None = None
    display_name: str | None = None
    preferences: Preferences = field(default_factory=Preferences)

    @property
    def erased(self) -> bool:
        return self.status == "erased"

    def channels_for(self, kind: str) -> list[str]:
        """The personal channels ``kind`` goes to: none for a leaver; no email without an address."""
        if self.status != "active":
            return []  # left or erased: nothing is sent to them
        channels = self.preferences.channels_for(kind)
        return [channel for channel in channels if channel != "email" or self.email]
