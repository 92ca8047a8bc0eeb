"""Settings of the profiles service (``TANDEM_*`` environment variables)."""

from pydantic import Field
from tandem_chassis import ServiceSettings
from tandem_chassis.services import SERVICE_PORTS

__all__ = ["Settings"]


class Settings(ServiceSettings):
    service_name: str = "profiles"
    http_port: int = SERVICE_PORTS["profiles"]
    retention_days: float = Field(default=30, ge=0, description="days before a leaver is erased")
    erasure_interval_s: float = Field(default=3600, gt=0, description="how often the erasure job runs")
