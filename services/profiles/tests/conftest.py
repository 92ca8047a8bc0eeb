"""Fixtures of the profiles service's tests: the real app on the real broker and store."""

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from tandem_chassis.auth import mint_dev_token
from tandem_profiles.bootstrap import build_app
from tandem_profiles.config import Settings
from tandem_profiles.entrypoints.deps import unit_of_work_of


class RunningProfiles:
    def __init__(self, app, settings: Settings, client: httpx.AsyncClient) -> None:
        self.app, self.settings, self.client = app, settings, client

    def token(self, sub: str, *roles: str) -> dict[str, str]:
        secret = self.settings.jwt_secret.get_secret_value()
        return {"Authorization": f"Bearer {mint_dev_token(secret, sub=sub, roles=list(roles))}"}

    @property
    def uow(self):
        return unit_of_work_of(self.app)

    @property
    def repository(self):
        return self.uow.profiles

    @property
    def collection(self):
        return self.uow.profiles.store.collection


@contextlib.asynccontextmanager
async def running_profiles(settings: Settings) -> AsyncIterator[RunningProfiles]:
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://profiles") as client:
            yield RunningProfiles(app, settings, client)


@pytest.fixture
async def profiles(service_settings) -> AsyncIterator[RunningProfiles]:
    async with running_profiles(service_settings(Settings, "profiles")) as running:
        yield running
