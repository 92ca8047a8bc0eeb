"""``hr.employees``: the public integration contract for HR systems (key: ``employee_id``)."""

from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints

from tandem_contracts.base import (
    EmployeeId,
    EventData,
    IanaTimezone,
    IsoDate,
    LanguageCode,
    ShortText,
    json_int,
)

__all__ = ["HR_FIELDS", "EmployeeJoined", "EmployeeLeft", "EmployeeUpdated"]

Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
# Constraints before the validator, so the JSON Schema shows them as minimum/maximum.
Level = Annotated[int, Field(ge=1, le=20, description="1 = entry level"), BeforeValidator(json_int)]


class EmployeeJoined(EventData):
    """``hr.employee.joined``."""

    employee_id: EmployeeId
    display_name: DisplayName
    # Optional: a person without an address gets inbox and webhook messages, no email.
    email: Email | None = None
    department: ShortText | None = None
    job_title: ShortText | None = None
    level: Level | None = None
    manager_id: EmployeeId | None = None
    location: ShortText | None = None
    timezone: IanaTimezone | None = None
    languages: Annotated[list[LanguageCode], Field(max_length=50)] | None = None
    start_date: IsoDate | None = None


class EmployeeUpdated(EventData):
    """``hr.employee.updated``: ``employee_id`` plus any subset of the joined fields.

    Absent fields are unchanged; read ``model_fields_set`` to know which were sent.
    """

    partial = True

    employee_id: EmployeeId
    email: Email | None = None
    display_name: DisplayName | None = None
    department: ShortText | None = None
    job_title: ShortText | None = None
    level: Level | None = None
    manager_id: EmployeeId | None = None
    location: ShortText | None = None
    timezone: IanaTimezone | None = None
    languages: Annotated[list[LanguageCode], Field(max_length=50)] | None = None
    start_date: IsoDate | None = None


class EmployeeLeft(EventData):
    """``hr.employee.left``."""

    employee_id: EmployeeId
    last_day: IsoDate | None = None


# In the order of the joined event as documented (email first), whatever the class declares.
HR_FIELDS = ("email", *(name for name in EmployeeJoined.model_fields if name not in ("employee_id", "email")))
