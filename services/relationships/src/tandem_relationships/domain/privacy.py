"""What ``profile.erased`` removes: the person's private notes, comments and free text, and
every admin note on a pair the person is a party of (admins wrote them about that person).

Ratings stay, with the respondent's id replaced (anonymous); the relationship keeps the ids of
its parties, as every service keeps ids of erased people.
"""

from tandem_relationships.domain.model import ERASED, Relationship

__all__ = ["erase_person"]


def erase_person(relationship: Relationship, employee_id: str) -> bool:
    """Remove what ``employee_id`` wrote; True if anything changed."""
    before = relationship.model_dump()
    for version in relationship.agreement.versions:
        if version.drafted_by == employee_id:
            version.terms.expectations = None
    for session in relationship.sessions:
        session.private_notes.pop(employee_id, None)
        if session.created_by == employee_id:
            session.agenda = None
        if session.log is not None and session.log.logged_by == employee_id:
            session.log.notes = None
    for goal in relationship.goals:
        for update in goal.history:
            if update.by == employee_id:
                update.note = None
    if employee_id in relationship.parties:
        relationship.admin_notes = []
    relationship.admin_notes = [note for note in relationship.admin_notes if note.author_id != employee_id]
    for request in relationship.feedback:
        if request.respondent_id == employee_id:
            request.respondent_id = ERASED
            if request.answer is not None:
                request.answer.comment = None
    return relationship.model_dump() != before
