from __future__ import annotations

import numpy as np
import pytest
from tandem_matching.domain import constraints as c
from tandem_matching.domain.index import MentorIndex
from tandem_matching.domain.model import Eligibility

pytestmark = pytest.mark.unit


def feasible(index, person, **kw):
    return c.feasible_mentors(index, person, **kw)


def test_a_plain_mentor_and_mentee_are_feasible(mentor, mentee):
    result = feasible(MentorIndex([mentor()]), mentee())
    assert result.mask.tolist() == [True]
    assert result.reason is None


def test_an_inactive_mentor_is_not_feasible(mentor, mentee):
    result = feasible(MentorIndex([mentor(active=False)]), mentee())
    assert result.mask.tolist() == [False]
    assert result.reason == c.NO_ELIGIBLE_MENTOR


def test_an_inactive_mentee_gets_no_mentor(mentor, mentee):
    result = feasible(MentorIndex([mentor()]), mentee(active=False))
    assert not result.mask.any()
    assert result.reason == c.MENTEE_INACTIVE


def test_a_person_without_the_mentor_role_is_not_a_mentor(mentor, mentee):
    result = feasible(MentorIndex([mentor(roles=frozenset({"mentee"}))]), mentee())
    assert result.reason == c.NO_ELIGIBLE_MENTOR


def test_a_person_without_the_mentee_role_gets_no_mentor(mentor, mentee):
    result = feasible(MentorIndex([mentor()]), mentee(roles=frozenset({"mentor"})))
    assert result.reason == c.NOT_A_MENTEE


@pytest.mark.parametrize(("capacity", "load"), [(0, 0), (2, 2), (2, 3)])
def test_a_mentor_without_free_capacity_is_not_feasible(mentor, mentee, capacity, load):
    index = MentorIndex([mentor(mentor_capacity=capacity, active_mentees=load)])
    assert feasible(index, mentee()).reason == c.NO_MENTOR_CAPACITY


def test_nobody_mentors_themselves(mentor, mentee):
    both = mentor("alice", roles=frozenset({"mentor", "mentee"}))
    result = feasible(MentorIndex([both, mentor("bob")]), mentee("alice"))
    assert result.mask.tolist() == [False, True]


def test_a_mentees_manager_cannot_be_their_mentor(mentor, mentee):
    index = MentorIndex([mentor("boss"), mentor("other")])
    assert feasible(index, mentee(manager_id="boss")).mask.tolist() == [False, True]


def test_a_mentees_skip_level_manager_cannot_be_their_mentor(mentor, mentee):
    index = MentorIndex([mentor("skip"), mentor("other")], managers={"boss": "skip"})
    assert feasible(index, mentee(manager_id="boss")).mask.tolist() == [False, True]


def test_a_mentees_direct_report_cannot_be_their_mentor(mentor, mentee):
    index = MentorIndex([mentor("report", manager_id="lead"), mentor("other")])
    assert feasible(index, mentee("lead")).mask.tolist() == [False, True]


def test_a_mentees_skip_level_report_cannot_be_their_mentor(mentor, mentee):
    index = MentorIndex([mentor("report", manager_id="middle"), mentor("other")], managers={"middle": "lead"})
    assert feasible(index, mentee("lead")).mask.tolist() == [False, True]


def test_only_the_reporting_line_left_is_reported_as_such(mentor, mentee):
    result = feasible(MentorIndex([mentor("boss")]), mentee(manager_id="boss"))
    assert result.reason == c.REPORTING_LINE_ONLY


def test_people_without_a_shared_language_are_not_matched(mentor, mentee):
    index = MentorIndex([mentor("de", languages=("de",)), mentor("en", languages=("en", "fr"))])
    result = feasible(index, mentee(languages=("en",)))
    assert result.mask.tolist() == [False, True]
    assert feasible(index, mentee(languages=("ja",))).reason == c.NO_SHARED_LANGUAGE


def test_languages_only_constrain_when_both_list_some(mentor, mentee):
    index = MentorIndex([mentor("silent", languages=()), mentor("de", languages=("de",))])
    assert feasible(index, mentee(languages=("en",))).mask.tolist() == [True, False]
    assert feasible(index, mentee(languages=())).mask.tolist() == [True, True]


def test_an_excluded_pair_is_not_feasible(mentor, mentee):
    index = MentorIndex([mentor("a"), mentor("b")])
    assert feasible(index, mentee(), exclude={"a"}).mask.tolist() == [False, True]
    assert feasible(index, mentee(), exclude={"a", "b"}).reason == c.ALL_CANDIDATES_EXCLUDED


def test_program_eligibility_applies_to_the_mentor(mentor, mentee):
    index = MentorIndex([mentor("eng"), mentor("ops", department="ops")])
    rule = Eligibility(departments=frozenset({"eng"}))
    assert feasible(index, mentee(), eligibility=rule).mask.tolist() == [True, False]


@pytest.mark.parametrize(
    "rule",
    [
        Eligibility(departments=frozenset({"ops"})),
        Eligibility(min_level=3),
        Eligibility(max_level=1),
        Eligibility(locations=frozenset({"berlin"})),
    ],
)
def test_program_eligibility_applies_to_the_mentee(mentor, mentee, rule):
    index = MentorIndex([mentor(department="ops", level=2, location="berlin")])
    result = feasible(index, mentee(level=2, location="paris"), eligibility=rule)
    assert result.reason == c.MENTEE_INELIGIBLE


def test_mentor_level_and_location_eligibility_filters(mentor, mentee):
    index = MentorIndex(
        [
            mentor("a", level=3, location="x"),
            mentor("b", level=9, location="x"),
            mentor("c", level=4, location="y"),
            mentor("d", level=None, location="x"),
        ]
    )
    rule = Eligibility(min_level=2, max_level=5, locations=frozenset({"x"}))
    assert feasible(index, mentee(location="x"), eligibility=rule).mask.tolist() == [
        True,
        False,
        False,
        False,
    ]


def test_the_feasible_matrix_has_one_row_per_mentee_with_reasons(mentor, mentee):
    index = MentorIndex([mentor("a"), mentor("b")])
    mentees = [mentee("x"), mentee("y", languages=("ja",)), mentee("z")]
    matrix, reasons = c.feasible_matrix(index, mentees, excluded_pairs={("z", "b")})
    assert matrix.tolist() == [[True, True], [False, False], [True, False]]
    assert reasons == {1: c.NO_SHARED_LANGUAGE}
    assert matrix.dtype == np.bool_


def test_a_program_open_to_a_group_admits_its_members_on_both_sides_and_no_one_else(mentor, mentee):
    wie = Eligibility(groups=("g-wie", "g-other"))
    index = MentorIndex(
        [
            mentor("in", groups=frozenset({"g-wie"})),
            mentor("out"),
            mentor("also-in", groups=frozenset({"g-other", "x"})),
        ]
    )
    assert feasible(index, mentee(groups=frozenset({"g-wie"})), eligibility=wie).mask.tolist() == [
        True,
        False,
        True,
    ]
    outsider = feasible(index, mentee(), eligibility=wie)
    assert not outsider.mask.any() and outsider.reason == c.MENTEE_INELIGIBLE
    assert feasible(index, mentee(), eligibility=Eligibility()).mask.tolist() == [True, True, True]
