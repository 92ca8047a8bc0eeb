"""What the service knows of a person: enough to invite them and to serve their feed."""

from typing import Literal

from pydantic import BaseModel

__all__ = ["Person"]


class Person(BaseModel):
    employee_id: str
    version: int = 0
    status: Literal["active", "inactive", "erased"] = "active"
    email: str | None = None
    display_name: str | None = None
    feed_secret: str | None = None
