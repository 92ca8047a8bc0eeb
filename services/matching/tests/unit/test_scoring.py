from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tandem_matching.domain.index import MentorIndex
from tandem_matching.domain.model import Skill, Weights
from tandem_matching.domain.scoring import components, score_matrix, score_mentee
from tandem_matching.domain.suggestions import suggest

pytestmark = pytest.mark.unit


def component(name, mentors, person):
    return components(MentorIndex(mentors), person)[name].tolist()


def test_goal_fit_counts_a_goal_fully_when_the_mentor_level_reaches_it(mentor, mentee):
    goals = (Skill("python", 3), Skill("sql", 4), Skill("kafka", 2), Skill("go", 1))
    teacher = mentor(skills=(Skill("python", 5), Skill("sql", 2), Skill("kafka", 2)))
    # python 1 + sql 2/4 + kafka 1 + go 0 over 4 goals
    assert component("goal_fit", [teacher], mentee(goals=goals)) == [pytest.approx(2.5 / 4)]


def test_goal_fit_is_neutral_for_a_mentee_without_goals(mentor, mentee):
    assert component("goal_fit", [mentor(skills=(Skill("go", 3),))], mentee()) == [0.5]


@pytest.mark.parametrize(
    ("mentor_level", "mentee_level", "expected"),
    [
        (2, 2, 0.0),
        (1, 2, 0.0),
        (3, 2, 1.0),
        (5, 2, 1.0),
        (6, 2, 0.75),
        (9, 2, 0.0),
        (None, 2, 0.5),
        (4, None, 0.5),
    ],
)
def test_seniority_is_best_one_to_three_levels_above(mentor, mentee, mentor_level, mentee_level, expected):
    got = component("seniority", [mentor(level=mentor_level)], mentee(level=mentee_level))
    assert got == [pytest.approx(expected)]


@pytest.mark.parametrize(
    ("mentor_tz", "mentee_tz", "expected"),
    [
        ("Europe/Berlin", "Europe/Paris", 1.0),
        ("Europe/Berlin", "Europe/London", 7 / 8),
        ("America/New_York", "Europe/Berlin", 2 / 8),
        ("Asia/Tokyo", "Europe/London", 0.0),
        ("Asia/Tokyo", "America/Los_Angeles", 1 / 8),
        ("Pacific/Kiritimati", "Pacific/Honolulu", 1.0),  # +14 vs -10: same wall clock
        (None, "Europe/Berlin", 0.5),
        ("Europe/Berlin", "Not/AZone", 0.5),
    ],
)
def test_timezone_scores_shared_working_hours(mentor, mentee, mentor_tz, mentee_tz, expected):
    got = component("timezone", [mentor(timezone=mentor_tz)], mentee(timezone=mentee_tz))
    assert got == [pytest.approx(expected)]


@pytest.mark.parametrize(
    ("preference", "mentor_dept", "expected"),
    [
        ("same", "eng", 1.0),
        ("same", "ops", 0.0),
        ("other", "eng", 0.0),
        ("other", "ops", 1.0),
        ("any", "ops", 1.0),
        ("same", None, 0.5),
    ],
)
def test_department_follows_the_mentees_preference(mentor, mentee, preference, mentor_dept, expected):
    got = component("department", [mentor(department=mentor_dept)], mentee(department_preference=preference))
    assert got == [expected]


def test_interests_score_is_the_jaccard_similarity(mentor, mentee):
    mentors = [mentor("a", interests=("chess", "go", "running")), mentor("b"), mentor("c")]
    person = mentee(interests=("chess", "go", "jazz"))
    assert component("interests", mentors, person) == [pytest.approx(2 / 4), 0.0, 0.0]
    assert component("interests", [mentor()], mentee()) == [0.0]


people = st.builds(
    dict,
    level=st.none() | st.integers(1, 9),
    timezone=st.sampled_from([None, "UTC", "Asia/Kolkata", "America/Chicago", "Australia/Sydney"]),
    department=st.none() | st.sampled_from(["eng", "ops"]),
    interests=st.lists(st.sampled_from(["a", "b", "c"]), max_size=3).map(tuple),
    skills=st.lists(st.builds(Skill, st.sampled_from(["x", "y", "z"]), st.integers(1, 5)), max_size=3).map(
        tuple
    ),
)


@settings(max_examples=100, deadline=None)
@given(
    mentors=st.lists(people, min_size=1, max_size=4),
    person=people,
    preference=st.sampled_from(["same", "other", "any"]),
)
def test_every_component_and_the_score_stay_within_zero_and_one(mentor, mentee, mentors, person, preference):
    index = MentorIndex([mentor(f"m{i}", **kw) for i, kw in enumerate(mentors)])
    skills = person.pop("skills")
    who = mentee(goals=skills, department_preference=preference, **person)
    scores, _, parts = score_mentee(index, who)
    for values in [scores, *parts.values()]:
        assert ((values >= 0) & (values <= 1)).all()


def test_the_score_is_the_normalised_weighted_sum_of_components(mentor, mentee):
    index = MentorIndex([mentor(skills=(Skill("go", 5),), level=9)])
    person = mentee(goals=(Skill("go", 2),), interests=("chess",))
    scores, _, parts = score_mentee(index, person, Weights())
    expected = (
        0.45 * parts["goal_fit"]
        + 0.15 * parts["seniority"]
        + 0.15 * parts["timezone"]
        + 0.10 * parts["department"]
        + 0.15 * parts["interests"]
    )
    assert scores == pytest.approx(expected)


def test_a_weights_override_changes_the_ranking(mentor, mentee):
    index = MentorIndex(
        [
            mentor("expert", skills=(Skill("go", 5),), timezone="Asia/Tokyo"),
            mentor("neighbour", timezone="Europe/Berlin"),
        ]
    )
    person = mentee(goals=(Skill("go", 4),))
    assert suggest(index, person, Weights())[0].mentor_id == "expert"
    tz_only = Weights(goal_fit=0, seniority=0, timezone=1, department=0, interests=0)
    assert suggest(index, person, tz_only)[0].mentor_id == "neighbour"


def test_weights_are_normalised_and_negative_weights_are_rejected():
    assert sum(Weights(goal_fit=2, seniority=2).normalised().as_dict().values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="negative"):
        Weights(goal_fit=-0.1)
    with pytest.raises(ValueError, match="positive"):
        Weights(0, 0, 0, 0, 0).normalised()


def test_score_matrix_rows_equal_single_mentee_scores(mentor, mentee):
    index = MentorIndex([mentor("a", level=4), mentor("b", level=7, languages=("de",))])
    mentees = [mentee("x", goals=(Skill("go", 3),)), mentee("y", level=6)]
    scores, feasible, reasons = score_matrix(index, mentees, excluded_pairs={("y", "a")})
    for row, person in enumerate(mentees):
        assert scores[row] == pytest.approx(score_mentee(index, person)[0])
    assert feasible.tolist() == [[True, False], [False, False]]
    assert reasons == {1: "all_candidates_excluded"}


def test_explanations_give_readable_reasons(mentor, mentee):
    teacher = mentor(
        level=4,
        timezone="Europe/London",
        interests=("chess", "go"),
        skills=(Skill("python", 5), Skill("kafka", 3), Skill("sql", 3)),
    )
    person = mentee(
        level=2,
        timezone="Europe/Berlin",
        interests=("chess",),
        goals=(Skill("python", 3), Skill("kafka", 3), Skill("sql", 2), Skill("rust", 2)),
    )
    [best] = suggest(MentorIndex([teacher]), person)
    assert best.explanation.reasons == [
        "covers 3 of your 4 goals: python, kafka, sql",
        "2 levels more senior",
        "7 h of shared working hours",
        "same department",
        "shares interests: chess",
    ]
    assert best.explanation.breakdown["goal_fit"] == 0.75
    assert set(best.explanation.breakdown) == {
        "goal_fit",
        "seniority",
        "timezone",
        "department",
        "interests",
    }


def test_suggest_returns_only_feasible_mentors_best_first(mentor, mentee):
    index = MentorIndex(
        [
            mentor("weak"),
            mentor("gone", active=False, skills=(Skill("go", 5),)),
            mentor("strong", skills=(Skill("go", 5),)),
            mentor("mid", skills=(Skill("go", 2),)),
        ]
    )
    result = suggest(index, mentee(goals=(Skill("go", 4),)), limit=2)
    assert [s.mentor_id for s in result] == ["strong", "mid"]
    assert result[0].score >= result[1].score
    assert suggest(index, mentee(goals=(Skill("go", 4),)), exclude={"strong"})[0].mentor_id == "mid"


def test_demand_spreading_demotes_busy_mentors_but_keeps_the_raw_score(mentor, mentee):
    index = MentorIndex(
        [
            mentor("popular", skills=(Skill("go", 5),), mentor_capacity=1),
            mentor("free", skills=(Skill("go", 4),), mentor_capacity=1),
        ]
    )
    person = mentee(goals=(Skill("go", 4),))
    plain = suggest(index, person)
    assert plain[0].mentor_id == "popular"
    spread = suggest(index, person, demand=np.array([3, 0]))
    assert [s.mentor_id for s in spread] == ["free", "popular"]
    assert spread[1].score == plain[0].score


def test_suggest_is_empty_when_no_mentor_is_feasible(mentor, mentee):
    assert suggest(MentorIndex([mentor(active=False)]), mentee()) == []
