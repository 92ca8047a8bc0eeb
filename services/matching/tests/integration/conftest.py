"""Fixtures of matching's integration tests: the real app on the real broker and store."""

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from tandem_chassis.auth import mint_dev_token
from tandem_chassis.testing import eventually, publish_event, read_topic
from tandem_contracts import EventData, ProfileDeactivated, ProfileErased, ProfileRegistered, topics
from tandem_matching.bootstrap import build_app
from tandem_matching.config import Settings


class RunningMatching:
    def __init__(self, app: Any, settings: Settings, client: httpx.AsyncClient) -> None:
        self.app, self.settings, self.client = app, settings, client

    @property
    def uow(self) -> Any:
        return self.app.state.uow

    def db(self, name: str) -> Any:
        return self.app.state.runtime.collection(name)

    def auth(self, sub: str, *roles: str) -> dict[str, str]:
        secret = self.settings.jwt_secret.get_secret_value()
        token = mint_dev_token(secret, sub=sub, roles=list(roles or ("employee",)))
        return {"Authorization": f"Bearer {token}"}

    def admin(self, sub: str = "admin-1") -> dict[str, str]:
        return self.auth(sub, "program_admin")

    async def feed(self, *data: EventData) -> None:
        """Publish profile events on the public contract topic, as the profiles service does."""
        await publish_event(
            self.settings.kafka_bootstrap_servers, self.settings.topic(topics.PROFILES), *data
        )

    async def projected(self, versions: dict[str, int], timeout_s: float = 30.0) -> None:
        """Wait until the projection holds these employees at (at least) these versions."""

        async def done() -> bool:
            found = await self.db("profiles").find({"_id": {"$in": list(versions)}}).to_list()
            have = {d["_id"]: d["version"] for d in found}
            if not all(have.get(k, 0) >= v for k, v in versions.items()):
                return False
            pool = self.uow.pool
            await pool.poll()  # as the background poller does every interval
            return all(pool.versions.get(k, 0) >= v for k, v in versions.items())

        await eventually(done, f"the projection at {versions}", timeout_s=timeout_s)

    async def events(
        self, topic: str, count: int, timeout_s: float = 30.0
    ) -> list[tuple[str, dict[str, Any]]]:
        records = await read_topic(
            self.settings.kafka_bootstrap_servers,
            self.settings.topic(topic),
            until=count,
            timeout_s=timeout_s,
        )
        return [(dict(r.headers)["ce_type"].decode(), json.loads(r.value)) for r in records]


@contextlib.asynccontextmanager
async def running_matching(settings: Settings) -> AsyncIterator[RunningMatching]:
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://matching") as client:
            yield RunningMatching(app, settings, client)


FAST = {"expiry_interval_s": 0.2, "pool_refresh_interval_s": 0.5}


@pytest.fixture
def matching_settings(service_settings) -> Callable[..., Settings]:
    return lambda **overrides: service_settings(Settings, "matching", **(FAST | overrides))


@pytest.fixture
async def matching(matching_settings) -> AsyncIterator[RunningMatching]:
    async with running_matching(matching_settings()) as running:
        yield running


def mentor(employee_id: str, version: int = 1, **fields: Any) -> ProfileRegistered:
    values: dict[str, Any] = {
        "email": f"{employee_id}@example.com",
        "display_name": employee_id.upper(),
        "department": "eng",
        "level": 5,
        "timezone": "Europe/Berlin",
        "languages": ["en"],
        "roles": ["mentor"],
        "skills": [{"name": "python", "level": 4}],
        "mentor_capacity": 2,
    }
    return ProfileRegistered(employee_id=employee_id, version=version, status="active", **(values | fields))


def mentee(employee_id: str, version: int = 1, **fields: Any) -> ProfileRegistered:
    values: dict[str, Any] = {
        "email": f"{employee_id}@example.com",
        "display_name": employee_id.upper(),
        "department": "eng",
        "level": 2,
        "timezone": "Europe/Berlin",
        "languages": ["en"],
        "roles": ["mentee"],
        "goals": [{"name": "python", "level": 3}],
    }
    return ProfileRegistered(employee_id=employee_id, version=version, status="active", **(values | fields))


def deactivated(profile: ProfileRegistered, version: int) -> ProfileDeactivated:
    return ProfileDeactivated.model_validate(
        profile.model_dump() | {"version": version, "status": "inactive"}
    )


def erased(employee_id: str, version: int) -> ProfileErased:
    return ProfileErased(employee_id=employee_id, version=version, status="erased")


@pytest.fixture(scope="session")
def make() -> SimpleNamespace:
    """Profile event factories and the polling helper (test modules cannot import conftest)."""
    return SimpleNamespace(
        mentor=mentor,
        mentee=mentee,
        deactivated=deactivated,
        erased=erased,
        eventually=eventually,
        running=running_matching,
    )
