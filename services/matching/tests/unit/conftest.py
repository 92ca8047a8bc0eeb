"""Factories for people in matching's unit tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tandem_matching.domain.model import Person

PersonFactory = Callable[..., Person]


def _person(role: str, employee_id: str, **overrides: Any) -> Person:
    defaults: dict[str, Any] = {
        "employee_id": employee_id,
        "roles": frozenset({role}),
        "level": 5 if role == "mentor" else 2,
        "department": "eng",
        "timezone": "Europe/Berlin",
        "languages": ("en",),
        "mentor_capacity": 2 if role == "mentor" else 0,
    }
    defaults.update(overrides)
    return Person(**defaults)


@pytest.fixture(scope="session")
def mentor() -> PersonFactory:
    return lambda employee_id="mentor-1", **kw: _person("mentor", employee_id, **kw)


@pytest.fixture(scope="session")
def mentee() -> PersonFactory:
    return lambda employee_id="mentee-1", **kw: _person("mentee", employee_id, **kw)
