"""Settings of the matching service (``TANDEM_*`` environment variables)."""

from tandem_chassis import ServiceSettings

__all__ = ["Settings"]


class Settings(ServiceSettings):
    service_name: str = "matching"
    http_port: int = 8002
