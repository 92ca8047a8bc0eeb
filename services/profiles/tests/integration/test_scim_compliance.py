"""The outside SCIM 2.0 compliance tester (``scim2-tester``) against the profiles service running
as its own process on a real port, on the real broker and store.
"""

import asyncio
import collections
from pathlib import Path

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import CheckResult, Status, check_server
from tandem_chassis.auth import mint_dev_token
from tandem_chassis.testing import ServiceProcess

pytestmark = pytest.mark.integration

FAILING = {Status.ERROR, Status.CRITICAL}


def _run_tester(base_url: str, token: str) -> list[CheckResult]:
    with httpx2.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        client = SyncSCIMClient(http)
        return check_server(client, resource_types=["User", "Group"])


def summary(results: list[CheckResult]) -> dict[str, int]:
    return dict(collections.Counter(result.status.name for result in results))


@pytest.fixture
async def profiles_process(isolated_settings: dict[str, str], tmp_path: Path):
    service = ServiceProcess("profiles", isolated_settings, tmp_path)
    service.start()
    try:
        await service.wait_ready()
        yield service
    finally:
        service.stop()


async def test_the_outside_compliance_tester_finds_no_error_for_users_and_groups(
    profiles_process: ServiceProcess, isolated_settings: dict[str, str]
) -> None:
    token = mint_dev_token(isolated_settings["TANDEM_JWT_SECRET"], sub="hr-bot", roles=["hr_integration"])
    results = await asyncio.to_thread(_run_tester, f"{profiles_process.url}/scim/v2", token)
    print("scim2-tester summary:", summary(results))
    for result in results:
        print(result.status.name, result.resource_type, result.title, (result.reason or "")[:1500])
    failures = [result for result in results if result.status in FAILING]
    assert results, "the tester ran no check"
    assert {result.resource_type for result in results} >= {"User", "Group"}
    assert not failures, "\n".join(f"{r.resource_type} {r.title}: {r.reason}" for r in failures)
