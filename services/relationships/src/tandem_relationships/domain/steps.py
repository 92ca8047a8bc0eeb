"""Time-driven steps, planned as a pure function of (relationship, program, now).

Each step has a deterministic id and is recorded in the relationship's ``steps_done`` in the
same single-document write as the events it causes, so a step happens once however many
replicas plan it and however often the service restarts: a replica that lost the write re-reads
and finds the step done.

- ``agreement-reminder``: 7 days after the start and the agreement is not signed by both;
- ``session-reminder:<session>:<sequence>``: 24 h before a scheduled session (again if moved);
- ``pulse:<n>``: 30 days after acceptance, then every 60 (only the latest one due is opened);
- ``health:<n>:<state>``: the health changed (entering at_risk nudges both, inactive alerts
  the program's admins);
- ``auto-close``: the program's ``auto_close_inactive_days`` without a session.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from tandem_contracts import (
    EventData,
    RelationshipAutoClosed,
    RelationshipHealthChanged,
    RelationshipReminderDue,
)

from tandem_relationships.domain.events import about
from tandem_relationships.domain.feedback import open_pulse
from tandem_relationships.domain.health import assess_health
from tandem_relationships.domain.model import ProgramSettings, Relationship

__all__ = ["AGREEMENT_REMINDER_AFTER", "Step", "apply_steps", "due_steps", "refresh_health"]

AGREEMENT_REMINDER_AFTER = timedelta(days=7)
SESSION_REMINDER_BEFORE = timedelta(hours=24)
FIRST_PULSE = timedelta(days=30)
PULSE_EVERY = timedelta(days=60)


@dataclass(frozen=True, slots=True)
class Step:
    step_id: str
    kind: str
    pulse: int = 0
    session_id: str | None = None


def _pulse_due(relationship: Relationship, now: datetime) -> int | None:
    since = now - relationship.opened_at
    if since < FIRST_PULSE:
        return None
    return int((since - FIRST_PULSE) / PULSE_EVERY) + 1


def due_steps(relationship: Relationship, program: ProgramSettings | None, now: datetime) -> list[Step]:
    """The steps due at ``now`` that were not taken yet (none once the relationship closed)."""
    if relationship.status != "open":
        return []
    steps: list[Step] = []
    if not relationship.agreement_signed and now - relationship.opened_at >= AGREEMENT_REMINDER_AFTER:
        steps.append(Step("agreement-reminder", "agreement_reminder"))
    for session in relationship.sessions:
        if (
            session.status == "scheduled"
            and session.starts_at - SESSION_REMINDER_BEFORE <= now < session.starts_at
        ):
            steps.append(
                Step(
                    f"session-reminder:{session.session_id}:{session.sequence}",
                    "session_reminder",
                    session_id=session.session_id,
                )
            )
    pulse = _pulse_due(relationship, now)
    if pulse is not None:
        steps.append(Step(f"pulse:{pulse}", "pulse", pulse=pulse))
    verdict = assess_health(relationship, now)
    if verdict.health != relationship.health:
        steps.append(Step(f"health:{relationship.health_changes + 1}:{verdict.health}", "health"))
    limit = program.auto_close_inactive_days if program else None
    if limit and now - relationship.last_activity_at() >= timedelta(days=limit):
        steps.append(Step("auto-close", "auto_close"))
    done = set(relationship.steps_done)
    return [step for step in steps if step.step_id not in done]


def apply_steps(
    relationship: Relationship, steps: list[Step], program: ProgramSettings | None, now: datetime
) -> list[EventData]:
    """Take ``steps``, record them as done and return the events they cause."""
    events: list[EventData] = []
    for step in steps:
        if step.step_id in relationship.steps_done:
            continue
        relationship.steps_done.append(step.step_id)
        if step.kind == "agreement_reminder":
            current = relationship.agreement.current
            signed = current.signatures if current else {}
            events.append(
                _reminder(relationship, step, now, [p for p in relationship.parties if p not in signed])
            )
        elif step.kind == "session_reminder":
            events.append(_reminder(relationship, step, now, list(relationship.parties)))
        elif step.kind == "pulse":
            events += open_pulse(relationship, step.pulse, now)
        elif step.kind == "health":
            events += refresh_health(relationship, program, now, record=False)
        elif step.kind == "auto_close":
            events.append(
                RelationshipAutoClosed(
                    **about(relationship),
                    inactive_days=program.auto_close_inactive_days
                    if program and program.auto_close_inactive_days
                    else 1,
                    last_activity_at=relationship.last_activity_at(),
                    closed_at=now,
                )
            )
    return events


def _reminder(relationship: Relationship, step: Step, now: datetime, recipients: list[str]) -> EventData:
    session = relationship.session(step.session_id) if step.session_id else None
    return RelationshipReminderDue(
        **about(relationship),
        reminder_id=step.step_id,
        kind="session_upcoming" if session else "agreement_unsigned",
        recipient_ids=recipients,
        session_id=session.session_id if session else None,
        starts_at=session.starts_at if session else None,
        due_at=now,
    )


def refresh_health(
    relationship: Relationship, program: ProgramSettings | None, now: datetime, *, record: bool = True
) -> list[EventData]:
    """Bring the stored health up to date; ``health_changed`` when it moved.

    Writes call it too (a logged session makes an at-risk pair healthy at once); ``record``
    adds the step id that the planner would have used, so the planner does not repeat it.
    """
    verdict = assess_health(relationship, now)
    if relationship.status != "open" or verdict.health == relationship.health:
        relationship.health_reasons = verdict.reasons if relationship.status == "open" else []
        return []
    previous = relationship.health
    relationship.health_changes += 1
    if record:
        relationship.steps_done.append(f"health:{relationship.health_changes}:{verdict.health}")
    relationship.health, relationship.health_reasons = verdict.health, verdict.reasons
    return [
        RelationshipHealthChanged(
            **about(relationship),
            health=verdict.health,
            previous=previous,
            reasons=verdict.reasons,
            nudge_ids=list(relationship.parties) if verdict.health == "at_risk" else [],
            alert_admin_ids=list(program.admin_ids) if program and verdict.health == "inactive" else [],
            changed_at=now,
        )
    ]
