"""An identity provider provisions a user without any email through SCIM: every service takes
them, and notifications reach them by the inbox only (the three services as processes)."""

import asyncio

import httpx
import pytest
from tandem_chassis.auth import mint_dev_token

pytestmark = pytest.mark.e2e


async def _eventually(check, timeout_s: float = 60.0):
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not (result := await check()):
        assert asyncio.get_running_loop().time() < deadline, "not reached in time"
        await asyncio.sleep(0.25)
    return result


async def test_a_scim_user_without_an_email_is_welcomed_in_the_inbox_and_sent_no_email(
    platform, mongo_client
):
    token = mint_dev_token(platform.env["TANDEM_JWT_SECRET"], sub="idp", roles=["hr_integration"])
    scim = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    async with httpx.AsyncClient(base_url=f"{platform['profiles'].url}/scim/v2", headers=scim) as client:
        for body in (
            {"userName": "bjensen", "externalId": "e-200", "name": {"givenName": "Barbara"}},
            {"userName": "grace", "externalId": "e-201", "emails": [{"value": "grace@example.com"}]},
        ):
            created = await client.post("/Users", json=body)
            assert created.status_code == 201, created.text

    recipients = mongo_client[platform.database("notifications")]["recipients"]
    deliveries = mongo_client[platform.database("notifications")]["deliveries"]
    matching = mongo_client[platform.database("matching")]["profiles"]

    async def channels_of(employee_id: str) -> set[str]:
        """Channels something was (or will be) sent on; a delivery recorded as skipped is not."""
        sent = {"recipient_id": employee_id, "status": {"$ne": "skipped"}}
        return {d["channel"] async for d in deliveries.find(sent)}

    async def both_welcomed():
        return "email" in await channels_of("e-201") and await channels_of("e-200")

    await _eventually(both_welcomed)
    assert (await recipients.find_one({"_id": "e-200"}))["email"] is None
    assert await matching.count_documents({"_id": "e-200"}) == 1
    await asyncio.sleep(1.0)  # anything still on its way for e-200 would be recorded by now
    assert "email" not in await channels_of("e-200"), "no email channel for a person without an address"
    assert "email" in await channels_of("e-201")
