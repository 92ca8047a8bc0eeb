"""Bearer JWTs: RS256/ES256 against a JWKS URL or a public key; HS256 only in dev mode."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Final

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel

from tandem_chassis.settings import ServiceSettings

__all__ = [
    "ROLES",
    "AuthError",
    "CurrentPrincipal",
    "JwtVerifier",
    "Principal",
    "authenticate",
    "bearer_token",
    "mint_dev_token",
    "require_roles",
    "require_self_or_roles",
]

ROLES: Final = frozenset({"employee", "program_admin", "hr_integration"})
_ASYMMETRIC: Final = frozenset({"RS256", "ES256"})


class AuthError(Exception):
    """The token is missing, malformed, expired, badly signed or of a refused kind."""


class Principal(BaseModel):
    sub: str
    roles: frozenset[str]

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


class JwtVerifier:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url) if settings.jwt_jwks_url else None

    def _key(self, token: str, algorithm: str) -> object:
        if algorithm == "HS256":
            if self.settings.env != "dev" or self.settings.jwt_secret is None:
                raise AuthError("HS256 tokens are accepted only in dev mode")
            return self.settings.jwt_secret.get_secret_value()
        if algorithm not in _ASYMMETRIC or algorithm not in self.settings.jwt_algorithms:
            raise AuthError(f"algorithm {algorithm} is not accepted")
        if self._jwks is not None:
            try:
                return self._jwks.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientError as error:
                raise AuthError(f"no signing key: {error}") from error
        if self.settings.jwt_public_key:
            return self.settings.jwt_public_key
        raise AuthError("no JWKS URL or public key is configured")

    def verify(self, token: str) -> Principal:
        try:
            algorithm = jwt.get_unverified_header(token).get("alg", "")
            claims = jwt.decode(
                token,
                self._key(token, algorithm),  # type: ignore[arg-type]
                algorithms=[algorithm],
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options={"require": ["exp", "sub"], "verify_aud": bool(self.settings.jwt_audience)},
            )
        except jwt.PyJWTError as error:
            raise AuthError(str(error)) from error
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise AuthError("claim 'roles' must be a list of strings")
        return Principal(sub=str(claims["sub"]), roles=frozenset(roles) & ROLES)


def mint_dev_token(secret: str, *, sub: str, roles: list[str], ttl: timedelta = timedelta(hours=8)) -> str:
    """An HS256 token for dev mode (CLI, tests)."""
    now = datetime.now(UTC)
    claims = {"sub": sub, "roles": roles, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm="HS256")


_bearer = HTTPBearer(auto_error=False)


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=reason, headers={"WWW-Authenticate": "Bearer"})


def bearer_token(authorization: str | None) -> str | None:
    """The credentials of an ``Authorization: Bearer …`` header, as FastAPI's HTTPBearer reads them."""
    scheme, credentials = get_authorization_scheme_param(authorization)
    if not (authorization and scheme.lower() == "bearer" and credentials):
        return None
    return credentials


def authenticate(verifier: JwtVerifier, token: str | None) -> Principal:
    """The principal of ``token``; :class:`AuthError` with the reason a client may read, else."""
    if token is None:
        raise AuthError("a bearer token is required")
    try:
        return verifier.verify(token)
    except AuthError as error:
        raise AuthError(f"invalid token: {error}") from error


# Where the HTTP edge leaves a token it verified before the body was read, so it is checked once.
VERIFIED_BEARER: Final = "tandem.verified_bearer"


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    token = credentials.credentials if credentials is not None else None
    verified = request.scope.get("state", {}).get(VERIFIED_BEARER)
    if verified is not None and token is not None and verified[0] == token:
        principal: Principal = verified[1]
        return principal
    verifier: JwtVerifier = request.app.state.jwt_verifier
    try:
        return authenticate(verifier, token)
    except AuthError as error:
        raise _unauthorized(str(error)) from error


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str) -> object:
    """A dependency that admits only principals holding one of ``roles``."""

    def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(*roles):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires one of roles: {', '.join(roles)}")
        return principal

    return Depends(check)


def require_self_or_roles(principal: Principal, employee_id: str, *roles: str) -> None:
    """Employees act on their own data only; the given roles act on anyone's."""
    if principal.has_any(*roles):
        return
    if "employee" in principal.roles and principal.sub == employee_id:
        return
    raise HTTPException(status.HTTP_403_FORBIDDEN, "you may only act on your own data")
