"""The agreement: either party drafts, both sign the same version; a change after a signature
makes a new version that needs both signatures again."""

from datetime import datetime

from tandem_contracts import EventData, RelationshipAgreementSigned
from tandem_contracts.relationships import GoalTarget

from tandem_relationships.domain.errors import Invalid, Refused
from tandem_relationships.domain.events import about, slug
from tandem_relationships.domain.model import AgreementTerms, AgreementVersion, Goal, Relationship

__all__ = ["draft_agreement", "ensure_open", "sign_agreement"]


def ensure_open(relationship: Relationship) -> None:
    if relationship.status != "open":
        raise Refused(f"mentorship {relationship.mentorship_id} has ended", reason="relationship_closed")


def draft_agreement(
    relationship: Relationship, by: str, terms: AgreementTerms, now: datetime
) -> list[EventData]:
    """Store ``terms`` as the current agreement (a new version once anyone signed the last)."""
    relationship.role_of(by)
    ensure_open(relationship)
    ids = [slug(goal.name) for goal in terms.goals]
    if len(set(ids)) != len(ids):
        raise Invalid("two goals have the same name", reason="duplicate_goal")
    if terms.end_date <= relationship.opened_at.date():
        raise Invalid("the end date must be after the mentorship started", reason="end_date_in_past")
    current = relationship.agreement.current
    if current is not None and current.terms == terms:
        return []  # the same draft again: nothing changes, nobody has to sign again
    if current is not None and not current.signatures:
        current.terms, current.drafted_by, current.drafted_at = terms, by, now
    else:
        number = current.version + 1 if current else 1
        relationship.agreement.versions.append(
            AgreementVersion(version=number, terms=terms, drafted_by=by, drafted_at=now)
        )
    _align_goals(relationship, terms)
    return []


def _align_goals(relationship: Relationship, terms: AgreementTerms) -> None:
    """The goals are the agreement's; a goal kept across versions keeps its progress."""
    kept = {goal.goal_id: goal for goal in relationship.goals}
    goals = []
    for draft in terms.goals:
        goal_id = slug(draft.name)
        goal = kept.get(goal_id) or Goal(
            goal_id=goal_id,
            name=draft.name,
            current_level=draft.current_level,
            target_level=draft.target_level,
        )
        goal.name, goal.current_level, goal.target_level = draft.name, draft.current_level, draft.target_level
        goals.append(goal)
    relationship.goals = goals


def sign_agreement(
    relationship: Relationship, by: str, now: datetime, *, version: int | None = None
) -> list[EventData]:
    """``by`` signs the current version; ``agreement_signed`` once both have signed it."""
    relationship.role_of(by)
    ensure_open(relationship)
    current = relationship.agreement.current
    if current is None:
        raise Refused("there is no agreement to sign yet", reason="no_agreement")
    if version is not None and version != current.version:
        raise Refused(
            f"version {version} is not the current agreement (version {current.version})",
            reason="stale_version",
        )
    if by in current.signatures:
        return []  # signing twice changes nothing
    current.signatures[by] = now
    if not relationship.agreement_signed:
        return []
    terms = current.terms
    return [
        RelationshipAgreementSigned(
            **about(relationship),
            agreement_version=current.version,
            cadence=terms.cadence,
            session_minutes=terms.session_minutes,
            end_date=terms.end_date,
            confidential=terms.confidential,
            goals=[
                GoalTarget(
                    goal_id=slug(goal.name),
                    name=goal.name,
                    current_level=goal.current_level,
                    target_level=goal.target_level,
                )
                for goal in terms.goals
            ],
            signed_at=now,
        )
    ]
