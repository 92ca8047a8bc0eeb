from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tandem_matching.domain.model import Eligibility, Skill
from tandem_matching.domain.programs import Program, ProgramTerms, RoundPair, RoundReport
from tandem_matching.domain.rounds import PROFILE_UNKNOWN, plan_round, round_mentors

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_plan_round_matches_under_seats_and_gives_every_other_mentee_a_reason(mentor, mentee):
    people = {
        p.employee_id: p
        for p in [
            mentor("ma", skills=(Skill("go", 5),), mentor_capacity=2),
            mentor("mb", skills=(Skill("go", 5),), mentor_capacity=1),
            mentee("e1", goals=(Skill("go", 3),)),
            mentee("e2", goals=(Skill("go", 3),), manager_id="mb"),
            mentee("e3", department="sales"),
            mentee("e4", goals=(Skill("go", 2),)),
        ]
    }
    program = Program("p1", "P", created_at=NOW, mentor_ids=("ma", "mb"))
    terms = ProgramTerms(expiry=timedelta(days=3), eligibility=Eligibility(departments=("eng",)))
    plan = plan_round(
        program,
        terms,
        waiting=["e1", "e2", "e3", "e4", "ghost"],
        people=people,
        mentors=round_mentors(program, people),
        seats_taken={"ma": 1},  # one seat each left
        managers={},
        excluded_pairs={("e4", "mb")},
    )
    assert {(p.mentee_id, p.mentor_id) for p in plan.pairs} == {("e1", "mb"), ("e2", "ma")}
    assert plan.unmatched == {
        "ghost": PROFILE_UNKNOWN,
        "e3": "mentee_ineligible",
        "e4": "capacity_exhausted",
    }
    assert all(p.explanation.reasons and 0 < p.score <= 1 for p in plan.pairs)
    assert plan.n_mentors == 2


def test_without_enrolled_mentors_a_round_takes_every_active_mentor(mentor, mentee):
    people = {p.employee_id: p for p in [mentor("b"), mentor("a"), mentor("gone", active=False), mentee("e")]}
    program = Program("p1", "P", created_at=NOW)
    assert [m.employee_id for m in round_mentors(program, people)] == ["a", "b"]


def test_a_round_report_rounds_scores_and_counts_mentor_loads():
    pairs = [RoundPair("e1", "m1", 0.123456), RoundPair("e2", "m1", 0.5), RoundPair("e3", "m2", 0.25)]
    report = RoundReport.of(pairs, {"e9": "no_mentor_capacity", "e8": PROFILE_UNKNOWN}, n_mentors=4)
    assert [p.score for p in report.pairs] == [0.1235, 0.5, 0.25]
    assert (report.total_score, report.mean_score, report.min_score) == (0.8735, 0.2912, 0.1235)
    assert report.mentor_load == {"0": 2, "1": 1, "2": 1}
    assert report.unmatched == (("e8", PROFILE_UNKNOWN), ("e9", "no_mentor_capacity"))
    assert report.unmatched_reasons == {PROFILE_UNKNOWN: 1, "no_mentor_capacity": 1}
