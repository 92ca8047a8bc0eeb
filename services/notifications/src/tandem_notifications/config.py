"""Settings of the notifications service (``TANDEM_*`` environment variables)."""

from pydantic import Field, SecretStr, model_validator
from tandem_chassis import ServiceSettings
from tandem_chassis.services import SERVICE_PORTS

__all__ = ["Settings"]


class Settings(ServiceSettings):
    service_name: str = "notifications"
    http_port: int = SERVICE_PORTS["notifications"]

    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "Tandem <no-reply@tandem.local>"
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    smtp_connections: int = Field(
        default=8, ge=1, description="parallel SMTP sessions (emails in flight at once)"
    )

    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_concurrency: int = Field(default=16, ge=1)

    delivery_max_attempts: int = Field(default=8, ge=1)
    delivery_backoff_initial_s: float = Field(default=5.0, gt=0)
    delivery_backoff_max_s: float = Field(default=900.0, gt=0)
    delivery_lease_s: float = Field(
        default=120.0, gt=0, description="a claimed delivery is retried after this if its sender died"
    )
    dispatcher_poll_interval_s: float = Field(default=1.0, gt=0)
    dispatcher_batch_size: int = Field(default=100, ge=1)

    checkin_days: float = Field(default=14.0, gt=0)
    reminder_poll_interval_s: float = Field(default=30.0, gt=0)

    app_url: str = "http://localhost:8080"

    @model_validator(mode="after")
    def _lease_outlives_a_send(self) -> "Settings":
        if self.delivery_lease_s <= max(self.smtp_timeout_s, self.webhook_timeout_s):
            raise ValueError("TANDEM_DELIVERY_LEASE_S must exceed the SMTP and webhook timeouts")
        if self.smtp_username and self.smtp_password is None:
            raise ValueError("TANDEM_SMTP_USERNAME needs TANDEM_SMTP_PASSWORD")
        return self
