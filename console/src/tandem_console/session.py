"""Who is signed in, and why a forged form post from another site gets nowhere.

The session is the user's own JWT in an ``HttpOnly``, ``SameSite=Lax`` cookie (``Secure`` in
prod): scripts cannot read it, and the console forwards it to the services, which decide what
the user may do. The console verifies it with the services' own settings only to know whom to
greet and which pages to offer.

CSRF, argued: a cross-site form post is the attack. ``SameSite=Lax`` already keeps the browser
from attaching the cookie to a POST started by another *site*; only top-level GET navigations
carry it, and every GET here is read-only. What Lax does not cover is a sibling origin of the
same site (another app on a subdomain, or another port on the same host) and browsers without
SameSite; so every unsafe request must also come with an ``Origin`` (or, failing that, a
``Referer``) naming this console's own origin — browsers always send ``Origin`` on form posts
and pages cannot forge it. Both together make a token per form unnecessary, and keep the pages
free of hidden-field plumbing. A request without either header is refused.
"""

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

import jwt
from fastapi import Depends, Request
from starlette.responses import RedirectResponse, Response
from tandem_chassis.auth import AuthError, JwtVerifier, Principal

__all__ = [
    "FLASH_COOKIE",
    "SESSION_COOKIE",
    "Forbidden",
    "SignInRequired",
    "User",
    "clear_session",
    "current_user",
    "origin_allowed",
    "read_flash",
    "redirect",
    "requires",
    "safe_next",
    "start_session",
]

SESSION_COOKIE = "tandem_session"
FLASH_COOKIE = "tandem_flash"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SignInRequired(Exception):  # noqa: N818  (a condition, not a fault)
    """No valid session: the user is sent to the sign-in page."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message
        super().__init__(message or "sign in required")


class Forbidden(Exception):  # noqa: N818
    """Signed in, but without a role this page needs."""


@dataclass(frozen=True, slots=True)
class User:
    token: str
    principal: Principal

    @property
    def id(self) -> str:
        return self.principal.sub

    def has(self, *roles: str) -> bool:
        return self.principal.has_any(*roles)


def _verify(request: Request, token: str) -> Principal:
    verifier: JwtVerifier = request.app.state.verifier
    return verifier.verify(token)


def current_user(request: Request) -> User:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired()
    try:
        return User(token, _verify(request, token))
    except AuthError as error:
        raise SignInRequired(f"Please sign in again: {error}.") from error


def requires(*roles: str) -> object:
    """A dependency: the signed-in user, who must hold one of ``roles``."""

    def check(user: Annotated[User, Depends(current_user)]) -> User:
        if not user.has(*roles):
            raise Forbidden(f"This page needs one of these roles: {', '.join(roles)}.")
        return user

    return Depends(check)


def start_session(request: Request, response: Response, token: str) -> Principal:
    """Verify ``token`` and keep it in the session cookie until it expires; raises ``AuthError``."""
    principal = _verify(request, token)
    expires = jwt.decode(token, options={"verify_signature": False}).get("exp")
    max_age = int(expires - datetime.now(UTC).timestamp()) if isinstance(expires, int | float) else None
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
        path="/",
    )
    return principal


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


def redirect(url: str, *, ok: str | None = None, error: str | None = None) -> RedirectResponse:
    """303 to ``url`` (Post/Redirect/Get), carrying a one-time message for the next page."""
    response = RedirectResponse(url, status_code=303)
    if ok or error:
        payload = json.dumps({"kind": "error" if error else "ok", "text": error or ok})
        response.set_cookie(
            FLASH_COOKIE,
            base64.urlsafe_b64encode(payload.encode()).decode(),
            max_age=60,
            httponly=True,
            samesite="lax",
            path="/",
        )
    return response


def read_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        flash = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except ValueError:
        return None
    if not isinstance(flash, dict) or flash.get("kind") not in ("ok", "error"):
        return None
    return {"kind": str(flash["kind"]), "text": str(flash.get("text", ""))}


def safe_next(target: str | None) -> str:
    """Only a path on this console: never an absolute or scheme-relative URL (open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def origin_allowed(request: Request) -> bool:
    """For unsafe methods: ``Origin`` (else ``Referer``) must be this console's own origin."""
    if request.method not in UNSAFE_METHODS:
        return True
    own = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}".lower()
    claimed = request.headers.get("origin")
    if claimed and claimed != "null":
        return claimed.lower() == own
    referer = request.headers.get("referer")
    return referer is not None and _origin_of(referer) == own
