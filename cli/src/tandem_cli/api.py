"""The services' HTTP APIs as the CLI uses them: clear errors instead of tracebacks."""

from typing import Any

import httpx

from tandem_cli.errors import CliError

__all__ = ["Api"]


class Api:
    """One service: its name (for messages), base URL and a shared httpx client."""

    def __init__(self, name: str, url: str, client: httpx.AsyncClient) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.client = client

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        ok: tuple[int, ...] = (200, 201, 204),
        timeout_s: float | None = None,
    ) -> httpx.Response:
        """The answer when its status is in ``ok``; a :class:`CliError` otherwise."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            answer = await self.client.request(
                method,
                f"{self.url}{path}",
                headers=headers,
                json=json,
                params=params,
                timeout=self.client.timeout if timeout_s is None else timeout_s,
            )
        except httpx.TransportError as error:
            raise CliError(
                f"{self.name} at {self.url} is not reachable ({type(error).__name__}): run `make run` first"
            ) from error
        if answer.status_code not in ok:
            raise CliError(f"{self.name}: {method} {path} answered {answer.status_code}: {answer.text[:500]}")
        return answer

    async def ready(self) -> None:
        answer = await self.call("GET", "/health/ready", ok=(200, 503))
        if answer.status_code != 200:
            raise CliError(f"{self.name} at {self.url} is not ready: {answer.text[:300]}")
