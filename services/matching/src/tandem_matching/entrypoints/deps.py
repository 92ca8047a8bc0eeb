"""What the routes depend on, as ``Annotated`` aliases: the unit of work, a program admin."""

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from tandem_chassis import Principal, require_roles

from tandem_matching.service_layer.unit_of_work import UnitOfWork

__all__ = ["ADMIN", "Admin", "Uow", "unit_of_work"]

ADMIN = "program_admin"
Admin = Annotated[Principal, require_roles(ADMIN)]


def unit_of_work(app: FastAPI) -> UnitOfWork:
    """The unit of work ``bootstrap.py`` built at startup."""
    uow: UnitOfWork = app.state.uow
    return uow


def _uow(request: Request) -> UnitOfWork:
    return unit_of_work(request.app)


Uow = Annotated[UnitOfWork, Depends(_uow)]
