"""The unit of work of a request or a subscriber, as bootstrap stored it on the app."""

from typing import Annotated

from fastapi import Depends, FastAPI, Request, params
from tandem_chassis import require_roles

from tandem_profiles.service_layer.unit_of_work import UnitOfWork

__all__ = ["Uow", "roles", "unit_of_work_of"]


def unit_of_work_of(app: FastAPI) -> UnitOfWork:
    uow = getattr(app.state, "unit_of_work", None)
    if not isinstance(uow, UnitOfWork):
        raise RuntimeError("the profiles service is not started")
    return uow


def _request_unit_of_work(request: Request) -> UnitOfWork:
    return unit_of_work_of(request.app)


Uow = Annotated[UnitOfWork, Depends(_request_unit_of_work)]


def roles(*names: str) -> params.Depends:
    """``require_roles`` typed as the dependency it is, for ``dependencies=[...]``."""
    dependency = require_roles(*names)
    if not isinstance(dependency, params.Depends):
        raise TypeError("require_roles returned no dependency")
    return dependency
