"""Rendering helpers shared by the pages: templates, the page context, Annotated aliases."""

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from tandem_console.api import Services
from tandem_console.charts import score_bar
from tandem_console.names import Names
from tandem_console.session import FLASH_COOKIE, User, current_user, read_flash, requires

__all__ = [
    "Admin",
    "Employee",
    "Operator",
    "ServicesDep",
    "SignedIn",
    "render",
    "templates",
]

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals["score_bar"] = score_bar

# No "operator" role exists (the roles are employee, program_admin, hr_integration): platform
# health is for program admins, who run the programs that depend on it.
OPERATOR_ROLES = ("program_admin",)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]
SignedIn = Annotated[User, Depends(current_user)]
Employee = Annotated[User, requires("employee")]
Admin = Annotated[User, requires("program_admin")]
Operator = Annotated[User, requires(*OPERATOR_ROLES)]


def render(
    request: Request,
    template: str,
    *,
    user: User | None = None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """A page: the template with the user, the one-time message and the settings' env."""
    settings = request.app.state.settings
    response = templates.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "flash": read_flash(request),
            "env": settings.env,
            "operator_roles": OPERATOR_ROLES,
            "names": Names(),  # pages that show people pass the names they looked up
            **context,
        },
        status_code=status_code,
    )
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/", httponly=True, samesite="lax")
    return response
