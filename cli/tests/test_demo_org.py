import pytest
from tandem_cli.demo_org import SKILLS, generate_organisation, mentoring_profiles
from tandem_contracts import EmployeeJoined

pytestmark = pytest.mark.unit


def test_the_organisation_is_one_tree_whose_managers_come_before_their_reports():
    org = generate_organisation(300, seed=7)
    assert len(org) == 300
    assert len({e.employee_id for e in org}) == 300
    roots = [e for e in org if e.manager_id is None]
    assert len(roots) == 1
    seen: set[str] = set()
    for employee in org:
        assert employee.manager_id is None or employee.manager_id in seen
        seen.add(employee.employee_id)


def test_every_employee_is_valid_for_the_hr_contract():
    for employee in generate_organisation(120, seed=3):
        again = EmployeeJoined.model_validate(employee.model_dump(mode="json"))
        assert again == employee
        assert employee.level is not None
        assert 1 <= employee.level <= 8
        assert employee.timezone
        assert "/" in employee.timezone
        assert employee.languages
        assert "en" in employee.languages


def test_reports_are_junior_to_their_manager_and_emails_are_unique():
    org = generate_organisation(300, seed=11)
    level = {e.employee_id: e.level for e in org}
    assert all(level[e.manager_id] > e.level for e in org if e.manager_id)
    assert len({e.email for e in org}) == len(org)
    assert len({e.department for e in org}) > 5


def test_the_same_seed_gives_the_same_organisation_and_profiles():
    assert generate_organisation(80, seed=7) == generate_organisation(80, seed=7)
    assert generate_organisation(80, seed=7) != generate_organisation(80, seed=8)
    org = generate_organisation(80, seed=7)
    assert mentoring_profiles(org, seed=7) == mentoring_profiles(org, seed=7)


def test_about_a_third_mentor_and_half_are_mentees_with_vocabulary_skills():
    org = generate_organisation(300, seed=7)
    profiles = mentoring_profiles(org, seed=7)
    mentors = [p for p in profiles.values() if p["roles"] == ["mentor"]]
    mentees = [p for p in profiles.values() if p["roles"] == ["mentee"]]
    assert len(mentors) == 90
    assert len(mentees) == 150
    assert all(1 <= p["mentor_capacity"] <= 4 and p["skills"] for p in mentors)
    assert all(p["goals"] for p in mentees)
    used = {s["name"] for p in mentors for s in p["skills"]} | {
        g["name"] for p in mentees for g in p["goals"]
    }
    assert used <= set(SKILLS)
    assert all(name == name.strip().lower() for name in SKILLS)


def test_a_tiny_organisation_is_still_a_tree():
    org = generate_organisation(3, seed=1)
    assert [e.manager_id for e in org] == [None, "e-0001", "e-0001"]
