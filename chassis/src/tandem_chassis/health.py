"""``/health/live``, ``/health/ready`` and ``/metrics``."""

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

__all__ = ["ReadinessCheck", "health_router"]

ReadinessCheck = Callable[[], Awaitable[bool]]


def health_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/health/ready")
    async def ready(request: Request) -> JSONResponse:
        checks: dict[str, ReadinessCheck] = request.app.state.readiness_checks
        names = list(checks)
        results = await asyncio.gather(
            *(asyncio.wait_for(checks[name](), 3.0) for name in names), return_exceptions=True
        )
        report = {name: result is True for name, result in zip(names, results, strict=True)}
        healthy = all(report.values())
        return JSONResponse(
            {"status": "ready" if healthy else "unavailable", "checks": report},
            status_code=200 if healthy else 503,
        )

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
