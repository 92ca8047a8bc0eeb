"""Settings of the relationships service (``TANDEM_*`` environment variables)."""

from pydantic import Field, model_validator
from tandem_chassis import ServiceSettings

__all__ = ["Settings"]


class Settings(ServiceSettings):
    service_name: str = "relationships"
    http_port: int = 8004
    default_mentorship_days: int = Field(
        default=180, ge=1, le=3650, description="agreement end date when the program names no length"
    )
    steps_interval_s: float = Field(
        default=60, gt=0, description="how often the time-driven steps (reminders, pulses, health) run"
    )
    steps_claim_stale_s: float = Field(
        default=60, gt=0, description="a replica's unwritten claim on due steps expires after this"
    )
    clock_offset_s: float = Field(
        default=0, description="dev only: shift the service's clock (demo of time-driven steps)"
    )
    public_url: str = Field(
        default="http://127.0.0.1:8004", description="base of the calendar feed links handed to people"
    )

    @model_validator(mode="after")
    def _no_time_travel_in_production(self) -> "Settings":
        if self.env == "prod" and self.clock_offset_s:
            raise ValueError("TANDEM_CLOCK_OFFSET_S is for dev only")
        return self
