"""Fixtures of the SCIM tests: the real app on the real broker and store, and a SCIM client."""

import json
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from tandem_chassis.auth import mint_dev_token
from tandem_profiles.bootstrap import build_app
from tandem_profiles.config import Settings

SCIM = "application/scim+json"
DATA = Path(__file__).resolve().parent.parent / "data" / "scim"


@asynccontextmanager
async def _running(settings: Settings, roles: tuple[str, ...] = ("hr_integration",)):
    app = build_app(settings)
    token = mint_dev_token(settings.jwt_secret.get_secret_value(), sub="hr-bot", roles=list(roles))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="https://example.com/scim/v2",
            headers={"Authorization": f"Bearer {token}", "Content-Type": SCIM},
        ) as client,
    ):
        client.app = app
        yield client


@pytest.fixture
def scim_running():
    """``async with scim_running(settings) as client``: the app and a SCIM client of it."""
    return _running


@pytest.fixture
def settings(service_settings) -> Settings:
    return service_settings(Settings, "profiles")


@pytest.fixture
async def scim(settings):
    async with _running(settings) as client:
        yield client


def provider_samples(name: str) -> dict:
    """The documented requests of an identity provider, from ``tests/data/scim/<name>.json``."""
    return json.loads((DATA / f"{name}.json").read_text())
