"""Shared building blocks of the event data models."""

from datetime import date
from typing import Annotated, Any, ClassVar, Final
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

__all__ = [
    "ISO_639_1",
    "EmployeeId",
    "EventData",
    "IanaTimezone",
    "IsoDate",
    "JsonInt",
    "LanguageCode",
    "ShortText",
    "date",
    "json_int",
]


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


def json_int(value: Any) -> Any:
    """JSON has no booleans-as-numbers and no numbers-in-strings: refuse pydantic's coercions."""
    if isinstance(value, bool | str | bytes):
        raise ValueError(f"must be a JSON integer, not {type(value).__name__}")
    return value


def _iso_date(value: Any) -> Any:
    """A date on the wire is an ISO 8601 string; pydantic would also read a number as a timestamp."""
    if not isinstance(value, str | date):
        raise ValueError(f"must be an ISO 8601 date string (YYYY-MM-DD), not {type(value).__name__}")
    return value


# The 183 two-letter codes of ISO 639-1 (Library of Congress registration authority list);
# a block of text reads better than 183 quoted strings.
ISO_639_1: Final = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy
    da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu
    hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb
    lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om
    or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw
    ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu""".split()  # noqa: SIM905
)


def _check_language(value: str) -> str:
    if value not in ISO_639_1:
        raise ValueError(f"{value!r} is not an ISO 639-1 language code")
    return value


JsonInt = Annotated[int, BeforeValidator(json_int)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
EmployeeId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=256)]
IanaTimezone = Annotated[str, Field(max_length=64), AfterValidator(_check_timezone)]
LanguageCode = Annotated[
    str, StringConstraints(to_lower=True, pattern=r"^[a-zA-Z]{2}$"), AfterValidator(_check_language)
]
