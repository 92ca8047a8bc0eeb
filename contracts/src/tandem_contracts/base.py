"""Shared building blocks of the event data models."""

from datetime import date
from typing import Annotated, ClassVar
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

__all__ = ["EmployeeId", "EventData", "IanaTimezone", "LanguageCode", "ShortText", "date"]


class EventData(BaseModel):
    """Base of every event's ``data``: tolerant reader, ignores unknown fields."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    #: Partial updates put only the fields that were set on the wire (absent = unchanged).
    partial: ClassVar[bool] = False


_TIMEZONES = frozenset(available_timezones())


def _check_timezone(value: str) -> str:
    if value not in _TIMEZONES:
        raise ValueError(f"unknown IANA timezone {value!r}")
    return value


EmployeeId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=256)]
IanaTimezone = Annotated[str, Field(max_length=64), AfterValidator(_check_timezone)]
LanguageCode = Annotated[str, StringConstraints(to_lower=True, pattern=r"^[a-zA-Z]{2}$")]
