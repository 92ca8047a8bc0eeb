"""The profile aggregate converges whatever order and however often HR events arrive."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from tandem_contracts import EmployeeJoined, EmployeeLeft, EmployeeUpdated
from tandem_profiles.domain.profile import (
    InactiveProfileError,
    apply_hr_event,
    edit_mentoring,
    erase,
)
from tandem_profiles.domain.skills import normalise_skill

pytestmark = pytest.mark.unit
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def joined(**fields):
    return EmployeeJoined(employee_id="e-1", email="ada@example.com", display_name="Ada", **fields)


def fold(events):
    profile, kinds = None, []
    for event, minute, event_id in events:
        change = apply_hr_event(profile, event, time=at(minute), event_id=event_id)
        profile = change.profile
        kinds.append(change.event)
    return profile, kinds


def test_joined_creates_an_active_profile_and_registers_it():
    profile, kinds = fold([(joined(department="R&D"), 0, "a")])
    assert profile.status == "active"
    assert kinds == ["registered"]
    assert profile.snapshot()["version"] == 1
    assert profile.snapshot()["department"] == "R&D"


def test_a_duplicate_event_changes_nothing():
    profile, kinds = fold([(joined(), 0, "a"), (joined(), 0, "a")])
    assert kinds == ["registered", None]
    assert profile.published_version == 1


def test_updated_changes_only_the_fields_present():
    update = EmployeeUpdated(employee_id="e-1", department="Sales")
    profile, kinds = fold([(joined(department="R&D", level=3), 0, "a"), (update, 1, "b")])
    assert kinds == ["registered", "updated"]
    assert profile.hr.department == "Sales" and profile.hr.level == 3
    assert profile.published_version == 2


def test_updated_before_joined_is_kept_and_published_with_the_join():
    update = EmployeeUpdated(employee_id="e-1", department="Sales")
    profile, kinds = fold([(update, 5, "b"), (joined(department="R&D"), 0, "a")])
    assert kinds == [None, "registered"]
    assert profile.hr.department == "Sales", "the later update wins over the earlier join"


def test_left_before_joined_does_not_resurrect_the_leaver():
    profile, kinds = fold([(EmployeeLeft(employee_id="e-1"), 10, "c"), (joined(), 0, "a")])
    assert profile.status == "inactive"
    assert kinds == [None, None], "never active: nothing downstream needs to hear"


def test_left_deactivates_and_a_rehire_reactivates():
    profile, kinds = fold(
        [
            (joined(), 0, "a"),
            (EmployeeLeft(employee_id="e-1"), 10, "b"),
            (joined(), 20, "c"),
        ]
    )
    assert kinds == ["registered", "deactivated", "registered"]
    assert profile.status == "active" and profile.published_version == 3


def test_any_order_of_the_same_events_ends_in_the_same_profile():
    events = [
        (joined(department="R&D", level=2), 0, "a"),
        (EmployeeUpdated(employee_id="e-1", level=3), 1, "b"),
        (EmployeeUpdated(employee_id="e-1", department="Ops", manager_id="m-404"), 2, "c"),
        (EmployeeLeft(employee_id="e-1"), 3, "d"),
        (joined(department="Ops", level=4), 4, "e"),
    ]
    outcomes = set()
    for order in itertools.permutations(events):
        profile, _ = fold(order)
        outcomes.add((profile.status, profile.hr))
    assert len(outcomes) == 1
    status, hr = outcomes.pop()
    assert status == "active" and hr.level == 4 and hr.manager_id == "m-404"


def test_mentoring_edits_are_refused_on_an_inactive_profile():
    profile, _ = fold([(joined(), 0, "a"), (EmployeeLeft(employee_id="e-1"), 1, "b")])
    with pytest.raises(InactiveProfileError):
        edit_mentoring(profile, {"roles": ["mentor"]})


def test_erasure_keeps_only_the_id_and_status_and_old_events_cannot_bring_data_back():
    profile = edit_mentoring(fold([(joined(), 0, "a")])[0], {"bio": "hi"}).profile
    profile = apply_hr_event(profile, EmployeeLeft(employee_id="e-1"), time=at(1), event_id="b").profile
    change = erase(profile, time=at(100), event_id="erase")
    assert change.event == "erased"
    assert change.profile.snapshot() == {"employee_id": "e-1", "version": 4, "status": "erased"}
    replayed = apply_hr_event(change.profile, joined(), time=at(0), event_id="a")
    assert replayed.event is None and replayed.profile.snapshot()["status"] == "erased"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("Python", "python"),
        ("python ", "python"),
        ("py", "python"),
        ("  Machine   Learning ", "machine learning"),
        ("K8s", "kubernetes"),
    ],
)
def test_skill_names_are_normalised(raw, canonical):
    assert normalise_skill(raw) == canonical
