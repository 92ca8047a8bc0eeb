"""Settings every service shares, read from ``TANDEM_*`` environment variables."""

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseSettings):
    """One validated settings object per service; subclass it for service-specific fields."""

    model_config = SettingsConfigDict(env_prefix="TANDEM_", extra="ignore")

    service_name: str = "tandem"
    env: Literal["dev", "prod"] = "dev"
    log_level: str = "INFO"

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # The HTTP edge (tandem_chassis.http_edge and serve()): what one client may cost a process.
    http_max_body_bytes: int = Field(
        default=1024 * 1024, ge=1, description="request bodies over this are refused with 413"
    )
    http_max_header_bytes: int = Field(default=16 * 1024, ge=1024, description="request line and headers")
    http_header_timeout_s: float = Field(
        default=10.0, gt=0, description="a request's line and headers must arrive within this (else 408)"
    )
    http_body_timeout_s: float = Field(
        default=30.0, gt=0, description="time a request may keep the service waiting for its body (408)"
    )
    http_keep_alive_timeout_s: int = Field(default=5, ge=1, description="idle keep-alive connections")
    http_max_connections: int = Field(
        default=1000, ge=1, description="concurrent connections and requests per process; then 503"
    )
    http_limit_auth_failures: bool = Field(
        default=True, description="429 after repeated 401s from one address; off behind a gateway doing it"
    )
    http_auth_failure_limit: int = Field(default=20, ge=1, description="401s per address and window")
    http_auth_failure_window_s: int = Field(default=60, ge=1)

    kafka_bootstrap_servers: str = "localhost:9092"
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None
    kafka_ssl_certfile: str | None = None
    kafka_ssl_keyfile: str | None = None
    kafka_topic_partitions: int = Field(default=6, ge=1)
    kafka_replication_factor: int = Field(default=1, ge=1)
    kafka_topic_prefix: str = Field(default="", description="prepended to every topic name")
    kafka_group_prefix: str = Field(default="", description="prepended to every consumer group")

    mongodb_uri: SecretStr = SecretStr("mongodb://localhost:27017")
    mongodb_database: str | None = Field(default=None, description="default: tandem_<service>")

    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_max_event_bytes: int = Field(
        default=256 * 1024, ge=1, description="larger record values are dead-lettered without decoding"
    )
    consumer_backoff_initial_s: float = Field(default=0.2, gt=0)
    consumer_backoff_max_s: float = Field(default=10.0, gt=0)
    outbox_poll_interval_s: float = Field(default=0.5, gt=0)

    jwt_secret: SecretStr | None = None
    jwt_jwks_url: str | None = None
    jwt_public_key: str | None = None
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    jwt_audience: str | None = None
    jwt_issuer: str | None = None

    @property
    def database_name(self) -> str:
        return self.mongodb_database or f"tandem_{self.service_name}"

    def topic(self, name: str) -> str:
        return f"{self.kafka_topic_prefix}{name}"

    def group(self, name: str) -> str:
        return f"{self.kafka_group_prefix}{name}"

    @model_validator(mode="after")
    def _production_needs_real_keys(self) -> "ServiceSettings":
        if self.env == "prod" and not (self.jwt_jwks_url or self.jwt_public_key):
            raise ValueError(
                "TANDEM_ENV=prod needs TANDEM_JWT_JWKS_URL or TANDEM_JWT_PUBLIC_KEY "
                "(HS256 with TANDEM_JWT_SECRET is for dev only)"
            )
        if self.kafka_security_protocol.startswith("SASL") and not self.kafka_sasl_username:
            raise ValueError("SASL needs TANDEM_KAFKA_SASL_USERNAME and TANDEM_KAFKA_SASL_PASSWORD")
        return self
