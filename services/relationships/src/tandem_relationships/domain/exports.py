"""The program's CSV exports for its admins: one line per pair, one line per answered request.

Comments are the admins' to read (erased people's comments are already gone from the store).
"""

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from tandem_relationships.domain.model import Relationship
from tandem_relationships.domain.program_report import answered, hours_held, last_session_at, latest_pulse

__all__ = ["FEEDBACK_COLUMNS", "PAIRS_COLUMNS", "feedback_csv", "pairs_csv"]

PAIRS_COLUMNS = (
    "mentorship_id",
    "mentor_id",
    "mentor_name",
    "mentee_id",
    "mentee_name",
    "status",
    "health",
    "agreement_signed",
    "sessions",
    "hours",
    "last_session_at",
    "latest_pulse",
    "open_requests",
    "ended_reason",
)
FEEDBACK_COLUMNS = (
    "mentorship_id",
    "request_id",
    "kind",
    "respondent_id",
    "respondent_role",
    "answered_at",
    "session_rating",
    "fit",
    "satisfaction",
    "goals_achieved",
    "would_recommend",
    "comment",
)
Cell = str | int | float | bool | datetime | None
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection, OWASP):
# text the people wrote (names, comments) is prefixed with an apostrophe, which it displays as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return str(value)


def _render(columns: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return out.getvalue()


def pairs_csv(relationships: Sequence[Relationship], names: Mapping[str, str | None]) -> str:
    rows = [
        (
            r.mentorship_id,
            r.mentor_id,
            names.get(r.mentor_id),
            r.mentee_id,
            names.get(r.mentee_id),
            r.status,
            r.health,
            r.agreement_signed,
            len(r.held_sessions),
            round(hours_held(r), 2),
            last_session_at(r),
            latest_pulse(r),
            len(r.open_requests()),
            r.end_reason,
        )
        for r in sorted(relationships, key=lambda r: r.mentorship_id)
    ]
    return _render(PAIRS_COLUMNS, rows)


def feedback_csv(relationships: Sequence[Relationship]) -> str:
    rows = [
        (
            a.relationship.mentorship_id,
            a.request.request_id,
            a.request.kind,
            a.request.respondent_id,
            a.request.respondent_role,
            a.request.answered_at,
            a.answer.session_rating,
            a.answer.fit,
            a.answer.satisfaction,
            a.answer.goals_achieved,
            a.answer.would_recommend,
            a.answer.comment,
        )
        for a in answered(sorted(relationships, key=lambda r: r.mentorship_id))
    ]
    return _render(FEEDBACK_COLUMNS, rows)
