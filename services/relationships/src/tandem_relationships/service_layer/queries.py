"""What people read: a relationship as its viewer may see it, open requests, calendar feeds.

The parties see their own private notes only and their own feedback answers; program admins
see every answer with its comment and no private notes at all; anyone else is refused.
"""

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from tandem_relationships.domain.calendar import render_feed
from tandem_relationships.domain.errors import Forbidden, NotFound
from tandem_relationships.domain.model import FeedbackRequest, Relationship, Session
from tandem_relationships.service_layer.ports import UnitOfWork

__all__ = [
    "OpenRequest",
    "RelationshipSummary",
    "Viewer",
    "calendar_feed",
    "feed_secret",
    "feed_secret_matches",
    "list_relationships",
    "open_requests_of",
    "view_relationship",
]

ADMIN = "program_admin"


@dataclass(frozen=True, slots=True)
class Viewer:
    employee_id: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles


@dataclass(frozen=True, slots=True)
class OpenRequest:
    mentorship_id: str
    request: FeedbackRequest


def visible_to(relationship: Relationship, viewer: Viewer) -> Relationship:
    """A copy of ``relationship`` holding only what ``viewer`` may read."""
    is_party = viewer.employee_id in relationship.parties and "employee" in viewer.roles
    if not is_party and not viewer.is_admin:
        raise Forbidden("only the pair and program admins read a relationship", reason="not_a_party")
    shown = relationship.model_copy(deep=True)
    shown.admin_notes = []  # served to that program's admins by their own endpoint only
    current = shown.agreement.current
    private_to_the_pair = not is_party and current is not None and current.terms.confidential
    for session in shown.sessions:
        own = session.private_notes.get(viewer.employee_id) if is_party else None
        session.private_notes = {viewer.employee_id: own} if own else {}
        if private_to_the_pair and session.log is not None:
            session.log.notes = None
    if private_to_the_pair:  # a confidential agreement: admins see that it exists, not what it says
        for version in shown.agreement.versions:
            version.terms.expectations = None
    if is_party and not viewer.is_admin:
        shown.feedback = [r for r in shown.feedback if r.respondent_id == viewer.employee_id]
    return shown


async def view_relationship(uow: UnitOfWork, mentorship_id: str, viewer: Viewer) -> Relationship:
    loaded = await uow.relationships.get(mentorship_id)
    if loaded is None:
        if not viewer.is_admin and "employee" not in viewer.roles:
            raise Forbidden("only the pair and program admins read a relationship", reason="not_a_party")
        raise NotFound(f"no relationship for mentorship {mentorship_id}")
    return visible_to(loaded.relationship, viewer)


@dataclass(frozen=True, slots=True)
class RelationshipSummary:
    """One row of the admins' relationship table."""

    relationship: Relationship
    sessions_held: int
    last_session_at: datetime | None
    open_requests: int
    fit: dict[str, str]  # role -> the latest fit answer (a mentor's poor shows here)
    mean_session_rating: float | None


def summarise(relationship: Relationship) -> RelationshipSummary:
    held = relationship.held_sessions
    ratings = [r.answer.session_rating for r in relationship.feedback if r.answer and r.answer.session_rating]
    fit: dict[str, str] = {
        r.respondent_role: r.answer.fit for r in relationship.feedback if r.answer and r.answer.fit
    }
    return RelationshipSummary(
        relationship=relationship,
        sessions_held=len(held),
        last_session_at=max((s.starts_at for s in held), default=None),
        open_requests=len(relationship.open_requests()),
        fit=fit,
        mean_session_rating=round(sum(ratings) / len(ratings), 2) if ratings else None,
    )


async def list_relationships(
    uow: UnitOfWork, *, program_id: str | None, status: str | None, health: str | None
) -> list[RelationshipSummary]:
    """The admins' table: every relationship (filtered), with what shows how it goes."""
    found = await uow.relationships.find(program_id=program_id, status=status, health=health)
    return [summarise(relationship) for relationship in found]


async def open_requests_of(uow: UnitOfWork, employee_id: str) -> list[OpenRequest]:
    return [
        OpenRequest(relationship.mentorship_id, request)
        for relationship in await uow.relationships.of_employee(employee_id)
        for request in relationship.open_requests(employee_id)
    ]


async def calendar_feed(uow: UnitOfWork, employee_id: str) -> str:
    relationships = await uow.relationships.of_employee(employee_id)
    pairs: list[tuple[Relationship, Session]] = [
        (relationship, session) for relationship in relationships for session in relationship.sessions
    ]
    return render_feed(employee_id, pairs)


async def feed_secret(uow: UnitOfWork, employee_id: str, *, rotate: bool = False) -> str:
    """The person's calendar feed secret, made on first use; ``rotate`` replaces it."""
    person = await uow.people.get(employee_id)
    if person is not None and person.status == "erased":
        raise NotFound(f"employee {employee_id} is erased")
    if person is not None and person.feed_secret and not rotate:
        return person.feed_secret
    secret = secrets.token_urlsafe(32)
    await uow.people.set_feed_secret(employee_id, secret)
    return secret


async def feed_secret_matches(uow: UnitOfWork, employee_id: str, secret: str) -> bool:
    person = await uow.people.get(employee_id)
    if person is None or not person.feed_secret:
        return False
    return hmac.compare_digest(person.feed_secret.encode(), secret.encode())
