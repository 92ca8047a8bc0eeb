"""The thin HTTP routes on the unit of work's fakes: status codes and bodies, no I/O."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from tandem_chassis.auth import mint_dev_token
from tandem_matching.bootstrap import build_app
from tandem_matching.service_layer.profiles import record_profiles

pytestmark = pytest.mark.unit

SECRET = "unit-test-secret-of-enough-length-for-hs256"


def auth(sub: str, *roles: str) -> dict[str, str]:
    token = mint_dev_token(SECRET, sub=sub, roles=list(roles or ("employee",)))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def client(uow) -> AsyncIterator[httpx.AsyncClient]:
    """The real app without its lifespan (no broker, no store): the routes use the fakes."""
    app = build_app(uow.settings.model_copy(update={"jwt_secret": SecretStr(SECRET)}))
    app.state.uow = uow
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://m") as c:
        yield c


async def test_a_request_answers_the_snapshot_and_a_refusal_is_a_409_with_its_reason(uow, profile, client):
    await record_profiles(uow, [profile.mentor("m1"), profile.mentee("e1")])
    body = {"mentee_id": "e1", "mentor_id": "m1"}

    created = await client.post("/v1/mentorships", json=body, headers=auth("e1"))
    again = await client.post("/v1/mentorships", json=body, headers=auth("e1"))
    someone_else = await client.post("/v1/mentorships", json=body, headers=auth("x1"))

    assert created.status_code == 201
    assert (created.json()["status"], created.json()["version"]) == ("proposed", 1)
    assert (again.status_code, again.json()["detail"]["reason"]) == (409, "already_open")
    assert someone_else.status_code == 403


async def test_a_write_that_keeps_losing_is_a_409_with_a_reason_not_a_500(uow, profile, client):
    await record_profiles(uow, [profile.mentor("m1"), profile.mentee("e1")])
    created = await client.post(
        "/v1/mentorships", json={"mentee_id": "e1", "mentor_id": "m1"}, headers=auth("e1")
    )
    uow.mentorships.lose_writes = 1_000

    busy = await client.post(f"/v1/mentorships/{created.json()['mentorship_id']}/accept", headers=auth("m1"))

    assert busy.status_code == 409
    assert busy.json()["reason"] == "concurrent_update"


async def test_the_wrong_party_is_a_403_and_a_wrong_state_a_409_with_the_state(uow, profile, client):
    await record_profiles(uow, [profile.mentor("m1"), profile.mentee("e1")])
    created = await client.post(
        "/v1/mentorships", json={"mentee_id": "e1", "mentor_id": "m1"}, headers=auth("e1")
    )
    url = f"/v1/mentorships/{created.json()['mentorship_id']}"

    assert (await client.post(f"{url}/accept", headers=auth("e1"))).status_code == 403
    assert (await client.post(f"{url}/accept", headers=auth("m1"))).status_code == 200
    twice = await client.post(f"{url}/accept", headers=auth("m1"))
    assert (twice.status_code, twice.json()["detail"]["current_state"]) == (409, "accepted")
    assert (await client.get("/v1/mentorships/nope", headers=auth("m1"))).status_code == 404


async def test_programs_are_for_program_admins(client):
    spec = {"name": "Spring", "eligibility": {"departments": ["ops", "eng"]}}
    assert (await client.post("/v1/programs", json=spec, headers=auth("e1"))).status_code == 403
    created = await client.post("/v1/programs", json=spec, headers=auth("a1", "program_admin"))
    assert created.status_code == 201
    program = created.json()
    assert (program["admin_ids"], program["eligibility"]["departments"]) == (["a1"], ["ops", "eng"])
    url = f"/v1/programs/{program['program_id']}"
    assert (await client.get(url, headers=auth("e1"))).status_code == 403
    assert (await client.post(f"{url}/rounds", headers=auth("e1"))).status_code == 403
    ran = await client.post(f"{url}/rounds", headers=auth("a1", "program_admin"))
    assert (ran.status_code, ran.json()["matched"]) == (201, 0)
    fetched = await client.get(f"{url}/rounds/{ran.json()['round_id']}", headers=auth("a1", "program_admin"))
    assert fetched.json() == ran.json()
