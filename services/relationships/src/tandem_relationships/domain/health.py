"""The health of an open relationship, from its cadence, last session, agreement and pulses.

- ``inactive``: no session within 3x the cadence;
- ``at_risk``: no session within 1.5x the cadence, the agreement unsigned 14 days after the
  start, or the latest pulse of either party at 2 or below;
- ``healthy`` otherwise. "No session within" counts from the last held session, else the start.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tandem_contracts.relationships import Health

from tandem_relationships.domain.model import CADENCE_DAYS, Relationship

__all__ = ["AGREEMENT_GRACE", "HealthVerdict", "assess_health"]

AGREEMENT_GRACE = timedelta(days=14)
AT_RISK_FACTOR = 1.5
INACTIVE_FACTOR = 3.0
LOW_PULSE = 2


@dataclass(frozen=True, slots=True)
class HealthVerdict:
    health: Health
    reasons: list[str] = field(default_factory=list)


def assess_health(relationship: Relationship, now: datetime) -> HealthVerdict:
    cadence = timedelta(days=CADENCE_DAYS[relationship.cadence])
    quiet = now - relationship.last_activity_at()
    if quiet > cadence * INACTIVE_FACTOR:
        return HealthVerdict("inactive", ["no_session_within_3x_cadence"])
    reasons = []
    if quiet > cadence * AT_RISK_FACTOR:
        reasons.append("no_session_within_1_5x_cadence")
    if not relationship.agreement_signed and now - relationship.opened_at > AGREEMENT_GRACE:
        reasons.append("agreement_unsigned")
    for party in relationship.parties:
        pulses = [
            r.answer.satisfaction
            for r in relationship.feedback
            if r.kind == "pulse" and r.respondent_id == party and r.answer and r.answer.satisfaction
        ]
        if pulses and pulses[-1] <= LOW_PULSE:
            reasons.append("low_pulse")
            break
    return HealthVerdict("at_risk" if reasons else "healthy", reasons)
