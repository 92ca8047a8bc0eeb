"""Dev tokens: HS256, signed with this checkout's dev secret (never in production)."""

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from tandem_chassis.auth import ROLES, mint_dev_token

from tandem_cli.errors import CliError

__all__ = ["dev_token", "find_repo_root", "resolve_secret"]

SECRET_FILE = Path(".local") / "dev-jwt-secret"
_MARKER = Path("deploy") / "local" / "stack.py"


def find_repo_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding ``deploy/local/stack.py``."""
    for folder in (start.resolve(), *start.resolve().parents):
        if (folder / _MARKER).is_file():
            return folder
    return None


def resolve_secret(
    explicit: str | None = None, *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> str:
    """``explicit``, else ``TANDEM_JWT_SECRET``, else ``<repo>/.local/dev-jwt-secret``."""
    env = os.environ if env is None else env
    if explicit:
        return explicit
    if env.get("TANDEM_JWT_SECRET"):
        return env["TANDEM_JWT_SECRET"]
    root = find_repo_root(cwd or Path.cwd())
    if root is not None and (root / SECRET_FILE).is_file():
        secret = (root / SECRET_FILE).read_text().strip()
        if secret:
            return secret
    where = root / SECRET_FILE if root else f"<repo>/{SECRET_FILE}"
    raise CliError(
        f"no dev JWT secret: set TANDEM_JWT_SECRET, pass --secret, or run `make run` once (it writes {where})"
    )


def dev_token(
    *,
    sub: str,
    roles: list[str],
    secret: str,
    ttl: timedelta = timedelta(hours=8),
    env: Mapping[str, str] | None = None,
) -> str:
    """An HS256 dev token; refused when ``TANDEM_ENV=prod`` or for an unknown role."""
    env = os.environ if env is None else env
    if env.get("TANDEM_ENV", "dev") == "prod":
        raise CliError("TANDEM_ENV=prod: HS256 dev tokens are refused in production")
    unknown = sorted(set(roles) - ROLES)
    if unknown:
        raise CliError(f"unknown role(s) {', '.join(unknown)}; known: {', '.join(sorted(ROLES))}")
    if not roles:
        raise CliError("give at least one --role")
    if ttl <= timedelta(0):
        raise CliError("--ttl-hours must be positive")
    token: str = mint_dev_token(secret, sub=sub, roles=roles, ttl=ttl)
    return token
