"""Settings of the notifications service (``TANDEM_*`` environment variables)."""

from tandem_chassis import ServiceSettings

__all__ = ["Settings"]


class Settings(ServiceSettings):
    service_name: str = "notifications"
    http_port: int = 8003
