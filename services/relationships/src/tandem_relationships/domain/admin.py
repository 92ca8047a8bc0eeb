"""What a program admin does to a pair: keep notes on it (admins only) and nudge it to meet."""

from datetime import datetime

from tandem_contracts import EventData, RelationshipNudged

from tandem_relationships.domain.agreement import ensure_open
from tandem_relationships.domain.events import about
from tandem_relationships.domain.model import AdminNote, Relationship

__all__ = ["add_admin_note", "nudge"]


def add_admin_note(relationship: Relationship, note_id: str, by: str, text: str, now: datetime) -> AdminNote:
    note = AdminNote(note_id=note_id, author_id=by, at=now, text=text)
    relationship.admin_notes.append(note)
    return note


def nudge(
    relationship: Relationship, nudge_id: str, by: str, message: str | None, now: datetime
) -> list[EventData]:
    """Both parties are nudged; an ended mentorship is not."""
    ensure_open(relationship)
    return [
        RelationshipNudged(
            **about(relationship),
            nudge_id=nudge_id,
            recipient_ids=list(relationship.parties),
            sent_by=by,
            message=message,
            nudged_at=now,
        )
    ]
