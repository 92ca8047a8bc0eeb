"""The services' HTTP APIs, called server-side with the signed-in user's token.

Every failure becomes an :class:`ApiError` with a message a person can read: the service's own
``detail`` (a string, a ``{"reason", "message"}`` object or FastAPI's validation list), or
"not reachable" when the call did not get an answer.
"""

from typing import Any

import httpx

__all__ = ["ApiError", "Services", "readable_detail"]


class ApiError(Exception):
    """A service refused the call (``status`` is its HTTP status) or did not answer (503)."""

    def __init__(self, service: str, status: int, message: str) -> None:
        self.service = service
        self.status = status
        self.message = message
        super().__init__(f"{service} answered {status}: {message}")


def _location(loc: list[Any]) -> str:
    return ".".join(str(part) for part in loc if part not in ("body", "query", "path"))


def readable_detail(body: Any, status: int) -> str:
    """The ``detail`` of an error answer as one sentence."""
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str) and detail:
        return detail
    if isinstance(detail, dict):
        return str(detail.get("message") or detail.get("reason") or detail)
    if isinstance(detail, list) and detail:
        parts = []
        for item in detail:
            if isinstance(item, dict):
                where = _location(item.get("loc", []))
                message = str(item.get("msg", "invalid"))
                parts.append(f"{where}: {message}" if where else message)
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return f"the request was refused (HTTP {status})"


class Services:
    """The services behind one shared httpx client."""

    def __init__(self, urls: dict[str, str], client: httpx.AsyncClient) -> None:
        self.urls = urls
        self.client = client

    async def send(
        self,
        service: str,
        method: str,
        path: str,
        *,
        token: str,
        json: Any = None,
        params: dict[str, Any] | None = None,
        timeout_s: float | None = None,
    ) -> httpx.Response:
        """The raw answer of a call that succeeded; raises :class:`ApiError` otherwise."""
        try:
            answer = await self.client.request(
                method,
                f"{self.urls[service]}{path}",
                headers={"Authorization": f"Bearer {token}"},
                json=json,
                params=params,
                timeout=self.client.timeout if timeout_s is None else timeout_s,
            )
        except httpx.TransportError as error:
            raise ApiError(
                service, 503, f"the {service} service is not reachable ({type(error).__name__})"
            ) from error
        if answer.status_code >= 400:
            try:
                body = answer.json()
            except ValueError:
                body = None
            raise ApiError(service, answer.status_code, readable_detail(body, answer.status_code))
        return answer

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        token: str,
        json: Any = None,
        params: dict[str, Any] | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        """The decoded JSON answer (``None`` for 204); raises :class:`ApiError` otherwise."""
        answer = await self.send(
            service, method, path, token=token, json=json, params=params, timeout_s=timeout_s
        )
        if answer.status_code == 204 or not answer.content:
            return None
        return answer.json()

    async def get(self, service: str, path: str, *, token: str, **params: Any) -> Any:
        query = {key: value for key, value in params.items() if value is not None}
        return await self.call(service, "GET", path, token=token, params=query or None)

    async def post(
        self, service: str, path: str, *, token: str, json: Any = None, timeout_s: float | None = None
    ) -> Any:
        return await self.call(service, "POST", path, token=token, json=json, timeout_s=timeout_s)

    async def patch(self, service: str, path: str, *, token: str, json: Any) -> Any:
        return await self.call(service, "PATCH", path, token=token, json=json)

    async def put(self, service: str, path: str, *, token: str, json: Any) -> Any:
        return await self.call(service, "PUT", path, token=token, json=json)
