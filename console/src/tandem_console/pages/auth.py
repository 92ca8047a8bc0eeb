"""Signing in (paste a JWT), signing out, and the dev-only login that mints a token."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response
from tandem_chassis.auth import ROLES, AuthError, mint_dev_token

from tandem_console.session import clear_session, redirect, safe_next, start_session
from tandem_console.web import render

__all__ = ["dev_router", "router"]

router = APIRouter()
dev_router = APIRouter(prefix="/dev")
ROLE_CHOICES = sorted(ROLES)


@router.get("/signin")
async def sign_in_page(request: Request, next: str = "/") -> Response:
    return render(request, "signin.html", next=safe_next(next))


@router.post("/signin")
async def sign_in(
    request: Request, token: Annotated[str, Form(max_length=16_000)], next: Annotated[str, Form()] = "/"
) -> Response:
    response = redirect(safe_next(next))
    try:
        principal = start_session(request, response, token.strip())
    except AuthError as error:
        return render(
            request,
            "signin.html",
            status_code=401,
            next=safe_next(next),
            error=f"This token was not accepted: {error}.",
        )
    if not principal.roles:
        clear_session(response)
        return render(
            request, "signin.html", status_code=403, next=safe_next(next), error="This token has no role."
        )
    return response


@router.post("/signout")
async def sign_out() -> Response:
    response = redirect("/signin", ok="You are signed out.")
    clear_session(response)
    return response


@dev_router.get("/login")
async def dev_login_page(request: Request) -> Response:
    return render(request, "dev_login.html", roles=ROLE_CHOICES)


@dev_router.post("/login")
async def dev_login(
    request: Request,
    employee_id: Annotated[str, Form(min_length=1, max_length=128)],
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    secret = request.app.state.settings.jwt_secret
    chosen = [role for role in roles or [] if role in ROLES]
    if secret is None:
        return redirect("/dev/login", error="TANDEM_JWT_SECRET is not set: dev tokens cannot be minted.")
    if not chosen:
        return redirect("/dev/login", error="Pick at least one role.")
    token = mint_dev_token(secret.get_secret_value(), sub=employee_id.strip(), roles=chosen)
    response = redirect("/", ok=f"Signed in as {employee_id.strip()} ({', '.join(chosen)}).")
    start_session(request, response, token)
    return response
