"""Settings of the web console (``TANDEM_*`` environment variables)."""

from pydantic import Field
from tandem_chassis import ServiceSettings
from tandem_chassis.services import CONSOLE_PORT, local_url

__all__ = ["Settings"]


class Settings(ServiceSettings):
    """The console holds no data: it needs the services' URLs and the same JWT settings as they do.

    The Kafka settings (inherited) serve the operations page: consumer lag and dead letters.
    """

    service_name: str = "console"
    http_port: int = CONSOLE_PORT
    profiles_url: str = local_url("profiles")
    matching_url: str = local_url("matching")
    notifications_url: str = local_url("notifications")
    relationships_url: str = local_url("relationships")
    api_timeout_s: float = Field(default=10.0, gt=0, description="per call to a service")
    round_timeout_s: float = Field(
        default=300.0, gt=0, description="for running a round, which answers once every pair is proposed"
    )
    cookie_secure: bool | None = Field(
        default=None, description="mark the session cookie Secure; default: only when env is prod"
    )

    @property
    def secure_cookies(self) -> bool:
        return self.env == "prod" if self.cookie_secure is None else self.cookie_secure

    @property
    def service_urls(self) -> dict[str, str]:
        return {
            "profiles": self.profiles_url.rstrip("/"),
            "matching": self.matching_url.rstrip("/"),
            "notifications": self.notifications_url.rstrip("/"),
            "relationships": self.relationships_url.rstrip("/"),
        }
