"""A program's health and outcomes as pure figures: medians, shares, scores, withheld groups."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from tandem_relationships.domain.exports import feedback_csv, pairs_csv
from tandem_relationships.domain.model import (
    AdminNote,
    AgreementTerms,
    AgreementVersion,
    FeedbackAnswer,
    FeedbackRequest,
    Goal,
    Relationship,
    Session,
    SessionLog,
)
from tandem_relationships.domain.privacy import erase_person
from tandem_relationships.domain.program_report import (
    MIN_GROUP,
    Withheld,
    ended_early,
    program_health,
    program_outcomes,
)

pytestmark = pytest.mark.unit

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = START + timedelta(days=40)


def pair(n: int, *, sessions: int = 0, signed: bool = False, minutes: int = 60) -> Relationship:
    relationship = Relationship(
        mentorship_id=f"m-{n}",
        mentor_id=f"mentor-{n}",
        mentee_id=f"mentee-{n}",
        program_id="p-1",
        opened_at=START,
        default_end_date=date(2026, 9, 1),
    )
    for i in range(sessions):
        at = START + timedelta(days=2 + 7 * i)
        relationship.sessions.append(
            Session(
                session_id=f"s-{n}-{i}",
                starts_at=at,
                minutes=minutes,
                status="logged",
                created_by=relationship.mentee_id,
                updated_at=at,
                log=SessionLog(
                    happened=True, minutes=minutes, logged_by=relationship.mentee_id, logged_at=at
                ),
            )
        )
    if signed:
        terms = AgreementTerms(end_date=date(2026, 9, 1))
        signatures = dict.fromkeys(relationship.parties, START)
        relationship.agreement.versions.append(
            AgreementVersion(version=1, terms=terms, drafted_by="x", drafted_at=START, signatures=signatures)
        )
    return relationship


def answer(relationship: Relationship, kind: str, role: str, days: int, **fields: object) -> None:
    respondent = relationship.mentor_id if role == "mentor" else relationship.mentee_id
    at = START + timedelta(days=days)
    relationship.feedback.append(
        FeedbackRequest(
            request_id=f"{kind}:{days}:{role}",
            kind=kind,  # type: ignore[arg-type]
            respondent_id=respondent,
            respondent_role=role,  # type: ignore[arg-type]
            requested_at=at,
            answered_at=at,
            answer=FeedbackAnswer.model_validate(fields),
        )
    )


def test_health_counts_medians_and_shares_over_open_pairs() -> None:
    pairs = [pair(1, sessions=3, signed=True), pair(2, sessions=1, minutes=30), pair(3)]
    pairs[2].health = "at_risk"
    closed = pair(4, sessions=9)
    closed.status = "closed"
    figures = program_health("p-1", [*pairs, closed], {"mentor-1": "Zoë"}, NOW)
    assert figures.pairs_by_health == {"healthy": 2, "at_risk": 1, "inactive": 0}
    assert figures.agreements_signed_share == round(1 / 3, 3)
    assert (figures.sessions.total, figures.sessions.median_per_pair) == (4, 1)
    assert (figures.hours.total, figures.hours.median_per_pair) == (3.5, 0.5)
    assert figures.days_to_first_session_median == 2
    assert [row.mentorship_id for row in figures.pairs] == ["m-1", "m-2", "m-3"]
    assert figures.pairs[0].mentor_name == "Zoë" and figures.pairs[1].mentor_name is None


def test_no_open_pair_has_no_share_and_no_medians() -> None:
    figures = program_health("p-1", [], {}, NOW)
    assert figures.agreements_signed_share is None
    assert figures.sessions.median_per_pair is None and figures.days_to_first_session_median is None


def test_fit_and_pulse_of_fewer_than_three_people_are_withheld_and_three_are_shown() -> None:
    pairs = [pair(1), pair(2)]
    answer(pairs[0], "fit", "mentee", 3, fit="good")
    answer(pairs[0], "fit", "mentor", 3, fit="unsure")
    answer(pairs[0], "pulse", "mentee", 30, satisfaction=4)
    answer(pairs[0], "pulse", "mentee", 31, satisfaction=2)  # the same person twice: still one
    figures = program_health("p-1", pairs, {}, NOW)
    assert figures.fit_answers == Withheld(answers=2)
    assert isinstance(figures.pulse, Withheld) and figures.pulse.answers == 1

    answer(pairs[1], "fit", "mentee", 3, fit="poor")
    answer(pairs[0], "fit", "mentor", 10, fit="good")  # the unsure mentor again: the latest counts
    answer(pairs[0], "pulse", "mentor", 30, satisfaction=5)
    answer(pairs[1], "pulse", "mentee", 30, satisfaction=1)
    figures = program_health("p-1", pairs, {}, NOW)
    assert figures.fit_answers == {"good": 2, "unsure": 0, "poor": 1}
    assert not isinstance(figures.pulse, Withheld)
    assert (figures.pulse.mean, figures.pulse.answers) == (round(8 / 3, 2), 3)
    assert figures.pulse.distribution == {"1": 1, "2": 1, "3": 0, "4": 0, "5": 1}
    assert MIN_GROUP == 3


def test_pairs_sort_by_fewest_sessions_oldest_last_session_and_lowest_pulse() -> None:
    pairs = [pair(1, sessions=3), pair(2, sessions=1), pair(3), pair(4, sessions=2)]
    answer(pairs[0], "pulse", "mentee", 30, satisfaction=2)
    answer(pairs[1], "pulse", "mentee", 30, satisfaction=4)
    answer(pairs[1], "pulse", "mentor", 32, satisfaction=1)  # latest of the pair
    order = {
        sort: [row.mentorship_id for row in program_health("p-1", pairs, {}, NOW, sort=sort).pairs]
        for sort in ("fewest_sessions", "oldest_last_session", "lowest_pulse")
    }
    assert order == {
        "fewest_sessions": ["m-3", "m-2", "m-4", "m-1"],
        "oldest_last_session": ["m-3", "m-2", "m-4", "m-1"],
        "lowest_pulse": ["m-2", "m-1", "m-3", "m-4"],
    }


def ended(n: int, reason: str, *, days: int = 60) -> Relationship:
    relationship = pair(n)
    relationship.status, relationship.end_reason = "closed", reason
    relationship.closed_at = START + timedelta(days=days)
    relationship.goals = [
        Goal(goal_id="public-speaking", name="Public speaking", current_level=2, target_level=4),
        Goal(goal_id="sql", name="SQL", current_level=1, target_level=3),
    ]
    return relationship


def test_an_end_is_early_unless_completed_or_on_the_end_date() -> None:
    assert not ended_early(ended(1, "completed"))
    assert ended_early(ended(2, "not_a_fit"))
    assert not ended_early(ended(3, "cancelled", days=200))  # at/after the default end date


def test_outcomes_shares_gains_scores_and_withheld_groups() -> None:
    pairs = [ended(1, "completed"), ended(2, "not_a_fit"), ended(3, "completed"), ended(4, "inactive")]
    answers = [("yes", 10, 5, 3), ("partly", 9, 4, 3), ("no", 3, 2, None), ("yes", 7, None, None)]
    for relationship, (achieved, recommend, satisfaction, speaking) in zip(pairs, answers, strict=True):
        levels = {"public-speaking": speaking, "sql": 2} if speaking else {"sql": 3}
        answer(
            relationship,
            "final",
            "mentee",
            61,
            goals_achieved=achieved,
            would_recommend=recommend,
            satisfaction=satisfaction,
            goal_levels=levels,
        )
    answer(pairs[0], "final", "mentor", 61, goals_achieved="no", would_recommend=0)  # not the outcome
    answer(pairs[0], "pulse", "mentee", 30, satisfaction=4)
    figures = program_outcomes("p-1", pairs, NOW)
    assert figures.ended.model_dump() == {
        "completed": 2,
        "ended_early": 2,
        "by_reason": {"completed": 2, "inactive": 1, "not_a_fit": 1},
    }
    assert figures.goals_achieved.model_dump() == {"yes": 0.5, "partly": 0.25, "no": 0.25, "answers": 4}
    assert [gain.model_dump() for gain in figures.level_gain] == [
        {"withheld": True, "reason": "fewer than 3 answers", "answers": 2, "skill": "Public speaking"},
        {"skill": "SQL", "mean": 1.5, "count": 4},
    ]
    # 2 promoters (10, 9), 1 passive (7), 1 detractor (3): 100 * (2 - 1) / 4
    assert figures.would_recommend.model_dump() == {
        "score": 25.0,
        "promoters": 2,
        "detractors": 1,
        "answers": 4,
    }
    assert figures.satisfaction.final_mean == round(11 / 3, 2)
    assert figures.satisfaction.pulse_mean == Withheld(answers=1)
    assert (figures.satisfaction.answers_final, figures.satisfaction.answers_pulse) == (3, 1)


def test_outcomes_of_two_mentees_are_withheld_and_none_answered_is_null() -> None:
    pairs = [ended(1, "completed"), ended(2, "completed")]
    for relationship in pairs:
        answer(relationship, "final", "mentee", 61, goals_achieved="yes", would_recommend=10)
    figures = program_outcomes("p-1", pairs, NOW)
    assert figures.goals_achieved == Withheld(answers=2)
    assert figures.would_recommend == Withheld(answers=2)
    assert figures.satisfaction.final_mean is None and figures.satisfaction.pulse_mean is None


def test_erasing_a_party_deletes_the_pairs_admin_notes() -> None:
    relationship = pair(1)
    other = pair(2)
    for r in (relationship, other):
        r.admin_notes.append(AdminNote(note_id="n", author_id="admin-1", at=START, text="check in"))
    erase_person(relationship, "mentee-1")
    erase_person(other, "someone-else")
    assert relationship.admin_notes == [] and len(other.admin_notes) == 1


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_kept_as_text() -> None:
    first, second = pair(1, sessions=1), pair(2)
    answer(first, "session", "mentee", 3, session_rating=2, comment='=HYPERLINK("http://evil","x")')
    answer(first, "session", "mentor", 3, session_rating=5, comment="très bien, -1 nothing")
    names = {"mentor-1": "@admin", "mentee-1": "Zoë", "mentor-2": "+49 team", "mentee-2": "Bo"}

    pairs = list(csv.DictReader(io.StringIO(pairs_csv([second, first], names))))
    answers = list(csv.DictReader(io.StringIO(feedback_csv([first, second]))))

    assert [(p["mentorship_id"], p["mentor_name"], p["mentee_name"]) for p in pairs] == [
        ("m-1", "'@admin", "Zoë"),
        ("m-2", "'+49 team", "Bo"),
    ]
    assert [(p["sessions"], p["hours"], p["open_requests"]) for p in pairs] == [
        ("1", "1.0", "0"),
        ("0", "0.0", "0"),
    ]
    assert sorted((a["respondent_id"], a["session_rating"], a["comment"]) for a in answers) == [
        ("mentee-1", "2", '\'=HYPERLINK("http://evil","x")'),
        ("mentor-1", "5", "très bien, -1 nothing"),
    ]
