"""``/health/ready`` follows the broker: 200 while Kafka answers, 503 once it is gone."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tandem_chassis.testing import ServiceProcess, free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _free_port_pair() -> int:
    while True:
        port = free_port()
        if port < 65000:
            import socket

            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port + 1)) != 0:
                    return port


def _stack(command: str, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "local" / "stack.py"), command, "kafka"],
        env=os.environ | env,
        check=True,
        capture_output=True,
        timeout=180,
    )


async def _ready_status(client: httpx.AsyncClient, url: str) -> tuple[int, dict]:
    response = await client.get(f"{url}/health/ready", timeout=10)
    return response.status_code, response.json()


async def test_readiness_is_503_when_kafka_is_stopped_and_200_while_it_runs(
    isolated_settings, tmp_path: Path
):
    port = _free_port_pair()
    private = {
        "TANDEM_LOCAL_DIR": str(tmp_path / "stack"),
        "TANDEM_LOCAL_KAFKA_PORT": str(port),
        "TANDEM_LOCAL_KAFKA_HEAP": "384m",
    }
    _stack("start", private)
    service = ServiceProcess(
        "profiles", isolated_settings | {"TANDEM_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}"}, tmp_path
    )
    try:
        service.start()
        await service.wait_ready()
        async with httpx.AsyncClient() as client:
            status, body = await _ready_status(client, service.url)
            assert (status, body["checks"]) == (200, {"kafka": True, "mongodb": True})

            _stack("stop", private)
            deadline = asyncio.get_running_loop().time() + 60
            while (status := (await _ready_status(client, service.url))[0]) != 503:
                assert asyncio.get_running_loop().time() < deadline, "still ready without Kafka"
                await asyncio.sleep(0.5)
            status, body = await _ready_status(client, service.url)
            assert status == 503 and body["checks"] == {"kafka": False, "mongodb": True}
            assert (await client.get(f"{service.url}/health/live")).status_code == 200
    finally:
        service.stop()
        _stack("stop", private)
