"""Use cases driven by other services' events: mentorships open and close relationships,
programs set their terms, profiles say who people are and when they are erased."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from tandem_contracts import EventData, MentorshipSnapshot, ProfileSnapshot, ProgramCreated

from tandem_relationships.domain.feedback import open_final
from tandem_relationships.domain.model import ProgramSettings, Relationship
from tandem_relationships.domain.people import Person
from tandem_relationships.domain.privacy import erase_person
from tandem_relationships.domain.sessions import cancel_session
from tandem_relationships.service_layer.changes import change
from tandem_relationships.service_layer.ports import UnitOfWork
from tandem_relationships.service_layer.sessions import attendees_of

__all__ = ["close_relationship", "open_relationship", "record_profile", "record_profiles", "record_program"]


def _aware(moment: datetime | None) -> datetime | None:
    """The contract's mentorship times may lack an offset; matching writes UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


async def open_relationship(uow: UnitOfWork, mentorship: MentorshipSnapshot, *, event_id: str) -> bool:
    """``mentorship.accepted``: the pair's relationship opens (once)."""
    if await uow.relationships.get(mentorship.mentorship_id) is not None:
        return False
    opened_at = _aware(mentorship.accepted_at) or uow.clock.now()
    program = await uow.programs.get(mentorship.program_id) if mentorship.program_id else None
    days = (program.mentorship_length_days if program else None) or uow.settings.default_mentorship_days
    relationship = Relationship(
        mentorship_id=mentorship.mentorship_id,
        mentor_id=mentorship.mentor_id,
        mentee_id=mentorship.mentee_id,
        program_id=mentorship.program_id,
        opened_at=opened_at,
        default_end_date=(opened_at + timedelta(days=days)).date(),
    )
    return await uow.relationships.add(relationship, [], caused_by=event_id)


async def close_relationship(uow: UnitOfWork, mentorship: MentorshipSnapshot, *, event_id: str) -> None:
    """``mentorship.ended``: the relationship closes, sessions ahead are cancelled and the
    final assessment opens for both."""
    loaded = await uow.relationships.get(mentorship.mentorship_id)
    if loaded is None:
        return  # ended before it was ever accepted: there was no relationship
    attendees = await attendees_of(uow, loaded.relationship)

    def close(relationship: Relationship, now: datetime) -> tuple[None, list[EventData]]:
        if relationship.status == "closed":
            return None, []
        events: list[EventData] = []
        for session in list(relationship.sessions):
            if session.status == "scheduled" and session.starts_at > now:
                events += cancel_session(
                    relationship, relationship.mentor_id, session.session_id, now, attendees=attendees
                )
        relationship.status = "closed"
        relationship.closed_at = _aware(mentorship.ended_at) or now
        relationship.end_reason = mentorship.reason
        return None, events + open_final(relationship, now)

    await change(uow, mentorship.mentorship_id, close, caused_by=event_id, missing_ok=True)


async def record_program(uow: UnitOfWork, program: ProgramCreated) -> None:
    await uow.programs.record(
        ProgramSettings(
            program_id=program.program_id,
            admin_ids=program.admin_ids,
            mentorship_length_days=program.mentorship_length_days,
            auto_close_inactive_days=program.auto_close_inactive_days,
        )
    )


async def record_profile(uow: UnitOfWork, profile: ProfileSnapshot, *, event_id: str) -> None:
    """:func:`record_profiles` for one event."""
    await record_profiles(uow, [profile])


async def record_profiles(uow: UnitOfWork, profiles: Sequence[ProfileSnapshot]) -> None:
    """Keep who the people are (for invitations; one write for the batch); on ``profile.erased``
    forget what the person wrote (and what admins wrote about their pairs)."""
    await uow.people.record_many(
        Person(
            employee_id=profile.employee_id,
            version=profile.version,
            status=profile.status,
            email=None if profile.status == "erased" else profile.email,
            display_name=None if profile.status == "erased" else profile.display_name,
        )
        for profile in profiles
    )
    for profile in profiles:
        if profile.status == "erased":
            await _erase(uow, profile.employee_id)


async def _erase(uow: UnitOfWork, employee_id: str) -> None:
    touched = [*await uow.relationships.of_employee(employee_id)]
    touched += await uow.relationships.noted_by(employee_id)  # an erased admin's notes
    for mentorship_id in dict.fromkeys(r.mentorship_id for r in touched):

        def erase(stored: Relationship, now: datetime) -> tuple[None, list[EventData]]:
            erase_person(stored, employee_id)
            return None, []

        await change(uow, mentorship_id, erase, missing_ok=True)
