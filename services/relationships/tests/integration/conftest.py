"""Fixtures of relationships' integration tests: the real app on the real broker and store.

The app runs in-process (ASGI, with its lifespan), isolated by the root conftest's topic prefix,
consumer groups and database; its periodic steps read a clock the test sets.
"""

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from tandem_chassis.auth import mint_dev_token
from tandem_chassis.testing import eventually, publish_event, read_topic
from tandem_contracts import EventData, MentorshipAccepted, topics
from tandem_relationships.bootstrap import build_app
from tandem_relationships.config import Settings
from tandem_relationships.service_layer.clock import SettableClock

MENTOR, MENTEE = "e-mentor", "e-mentee"


class RunningRelationships:
    def __init__(self, settings: Settings, client: httpx.AsyncClient, clock: SettableClock) -> None:
        self.settings, self.client, self.clock = settings, client, clock

    def auth(self, sub: str, *roles: str) -> dict[str, str]:
        assert self.settings.jwt_secret is not None
        token = mint_dev_token(
            self.settings.jwt_secret.get_secret_value(), sub=sub, roles=list(roles or ("employee",))
        )
        return {"Authorization": f"Bearer {token}"}

    async def publish(self, topic: str, *data: EventData) -> None:
        await publish_event(self.settings.kafka_bootstrap_servers, self.settings.topic(topic), *data)

    async def accept(self, mentorship_id: str, at: datetime, **fields: Any) -> None:
        """Publish ``mentorship.accepted`` as matching does, and wait for the relationship."""
        accepted = MentorshipAccepted(
            mentorship_id=mentorship_id,
            mentor_id=MENTOR,
            mentee_id=MENTEE,
            status="accepted",
            accepted_at=at,
            **fields,
        )
        await self.publish(topics.MENTORSHIPS, accepted)
        await self.relationship(mentorship_id)

    async def relationship(
        self, mentorship_id: str, sub: str = MENTEE, timeout_s: float = 30
    ) -> dict[str, Any]:
        async def found() -> dict[str, Any] | None:
            answer = await self.client.get(
                f"/v1/mentorships/{mentorship_id}/relationship", headers=self.auth(sub)
            )
            return answer.json() if answer.status_code == 200 else None

        shown: dict[str, Any] = await eventually(found, f"relationship {mentorship_id}", timeout_s)
        return shown

    async def events(
        self, until: Callable[[list[tuple[str, dict[str, Any]]]], bool], timeout_s: float = 30
    ) -> list[tuple[str, dict[str, Any]]]:
        """Every event on tandem.relationships, read from the start until ``until`` holds.

        Each event once: the relay publishes at least once (a relay stopped between publishing
        and deleting an entry publishes it again, with the same event id, which consumers drop).
        """

        def decoded(records: list[Any]) -> list[tuple[str, dict[str, Any]]]:
            seen: set[bytes] = set()
            events = []
            for r in records:
                headers = dict(r.headers)
                if headers["ce_id"] not in seen:
                    seen.add(headers["ce_id"])
                    events.append((headers["ce_type"].decode(), json.loads(r.value)))
            return events

        records = await read_topic(
            self.settings.kafka_bootstrap_servers,
            self.settings.topic(topics.RELATIONSHIPS),
            until=lambda records: until(decoded(records)),
            timeout_s=timeout_s,
        )
        return decoded(records)


@contextlib.asynccontextmanager
async def running_relationships(
    settings: Settings, clock: SettableClock
) -> AsyncIterator[RunningRelationships]:
    app = build_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://relationships") as client:
            yield RunningRelationships(settings, client, clock)


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=0)


@pytest.fixture
def relationships_settings(service_settings) -> Callable[..., Settings]:  # type: ignore[no-untyped-def]
    return lambda **overrides: service_settings(
        Settings, "relationships", **({"steps_interval_s": 0.2} | overrides)
    )


@pytest.fixture
async def relationships(relationships_settings) -> AsyncIterator[RunningRelationships]:  # type: ignore[no-untyped-def]
    async with running_relationships(relationships_settings(), SettableClock(_now())) as running:
        yield running


@pytest.fixture(scope="session")
def make() -> SimpleNamespace:
    """Helpers for test modules (which cannot import conftest)."""
    return SimpleNamespace(running=running_relationships, now=_now, mentor=MENTOR, mentee=MENTEE)
