import pytest
from pydantic import create_model
from tandem_contracts import EmployeeJoined
from tandem_contracts.schema_export import committed_schemas, current_schemas, incompatibilities

pytestmark = pytest.mark.unit


def test_models_are_compatible_with_the_committed_schemas():
    committed = committed_schemas()
    assert set(committed) == set(current_schemas()), "run `tandem-schemas export`"
    assert incompatibilities(committed, current_schemas()) == []


def _with_change(**fields):
    fields_now = {name: (info.annotation, info) for name, info in EmployeeJoined.model_fields.items()}
    for name, change in fields.items():
        if change is None:
            fields_now.pop(name)
        else:
            fields_now[name] = change
    changed = create_model("EmployeeJoined", **fields_now)
    return {"hr.employee.joined": changed.model_json_schema()}


def test_removing_a_required_field_is_a_breaking_change():
    old = {"hr.employee.joined": committed_schemas()["hr.employee.joined"]}
    problems = incompatibilities(old, _with_change(email=None))
    assert problems == ["hr.employee.joined: email: field removed"]


def test_retyping_a_field_is_a_breaking_change():
    old = {"hr.employee.joined": committed_schemas()["hr.employee.joined"]}
    problems = incompatibilities(old, _with_change(level=(str | None, None)))
    assert problems and "level: type changed" in problems[0]


def test_a_new_required_field_is_breaking_and_a_new_optional_one_is_not():
    old = {"hr.employee.joined": committed_schemas()["hr.employee.joined"]}
    assert incompatibilities(old, _with_change(cost_centre=(str, ...))) == [
        "hr.employee.joined: cost_centre: new required field"
    ]
    assert incompatibilities(old, _with_change(cost_centre=(str | None, None))) == []
