"""What routes get from the composition root, as ``Annotated`` dependencies."""

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from tandem_chassis import CurrentPrincipal, Principal

from tandem_relationships.service_layer.ports import UnitOfWork
from tandem_relationships.service_layer.queries import Viewer

__all__ = ["Party", "Uow", "ViewerDep"]


def _uow(request: Request) -> UnitOfWork:
    uow: UnitOfWork = request.app.state.uow
    return uow


def _party(principal: CurrentPrincipal) -> str:
    """The employee acting; whether they are a party of the mentorship the domain decides."""
    if "employee" not in principal.roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the mentor and the mentee act on a relationship")
    return principal.sub


def _viewer(principal: CurrentPrincipal) -> Viewer:
    return Viewer(employee_id=principal.sub, roles=principal.roles)


def require_self_or_admin(principal: Principal, employee_id: str) -> None:
    if principal.has_any("program_admin"):
        return
    if "employee" in principal.roles and principal.sub == employee_id:
        return
    raise HTTPException(status.HTTP_403_FORBIDDEN, "you may only read your own")


Uow = Annotated[UnitOfWork, Depends(_uow)]
Party = Annotated[str, Depends(_party)]
ViewerDep = Annotated[Viewer, Depends(_viewer)]
