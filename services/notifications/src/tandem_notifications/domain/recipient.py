"""A recipient: what notifying an employee needs from their profile."""

from dataclasses import dataclass, field

from tandem_notifications.domain.preferences import Preferences

__all__ = ["Recipient"]


@dataclass(frozen=True, slots=True)
class Recipient:
    """``preferences`` are the effective ones: as the employee set them here, else the profile's.

    ``email`` may be absent: such an employee's email deliveries are recorded as skipped, with
    the reason, and only the inbox (and webhooks) reach them.
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
        """The personal channels ``kind`` goes to as their preferences say; none for a leaver."""
        if self.status != "active":
            return []  # left or erased: nothing is sent to them
        return self.preferences.channels_for(kind)
