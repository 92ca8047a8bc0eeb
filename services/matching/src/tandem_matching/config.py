"""Settings of the matching service (``TANDEM_*`` environment variables)."""

from pydantic import Field
from tandem_chassis import ServiceSettings
from tandem_chassis.services import SERVICE_PORTS

__all__ = ["Settings"]


class Settings(ServiceSettings):
    service_name: str = "matching"
    http_port: int = SERVICE_PORTS["matching"]
    proposal_expiry_days: float = Field(
        default=7,
        gt=0,
        description="days a proposal waits for an answer unless its program says otherwise",
    )
    expiry_interval_s: float = Field(default=60, gt=0, description="how often the expiry job runs")
    pool_refresh_interval_s: float = Field(
        default=1.0, gt=0, description="how often the in-memory mentor pool polls the projection"
    )
    pool_snapshot_changes: int = Field(
        default=1_000, gt=0, description="projection writes after which the pool stores a new snapshot"
    )
    pool_snapshot_interval_s: float = Field(
        default=30.0, ge=0, description="the least time between two stored pool snapshots"
    )
    load_reconcile_interval_s: float = Field(
        default=300, gt=0, description="how often mentor loads are recounted from mentorships"
    )
    max_suggestions: int = Field(default=50, ge=1)
