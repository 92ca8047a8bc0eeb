"""The composition root of the console: settings in, FastAPI app out.

The console holds no data. Every page calls the services' public HTTP APIs with the signed-in
user's token, so it can be scaled, restarted or left out without touching the platform.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response
from tandem_chassis.auth import JwtVerifier
from tandem_chassis.http_edge import AuthFailures, EdgePolicy, HttpEdge, bounded_validation_errors
from tandem_chassis.logging import get_logger

from tandem_console.api import ApiError, Services
from tandem_console.config import Settings
from tandem_console.pages import admin, auth, employee, mentorship, operations, program_insights
from tandem_console.session import (
    Forbidden,
    SignInRequired,
    User,
    clear_session,
    current_user,
    origin_allowed,
    redirect,
)
from tandem_console.web import render

__all__ = ["build_app"]

log = get_logger(__name__)
STATIC = Path(__file__).parent / "static"


def _user_or_none(request: Request) -> User | None:
    try:
        return current_user(request)
    except SignInRequired:
        return None


def _install_error_pages(app: FastAPI) -> None:
    """Service refusals and missing roles as readable pages; never a stack trace."""

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, error: SignInRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = redirect(f"/signin?next={httpx.URL(target)}", error=error.message)
        if error.message:
            clear_session(response)
        return response

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, error: Forbidden) -> Response:
        return render(
            request,
            "error.html",
            user=_user_or_none(request),
            status_code=403,
            title="Not allowed",
            message=str(error),
        )

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> Response:
        if error.status == 401:
            response = redirect(
                "/signin",
                error=f"The {error.service} service refused your token: "
                f"{error.message}. Please sign in again.",
            )
            clear_session(response)
            return response
        # 4xx of a service are the user's to read; a failing service is a bad gateway, not our 500.
        status = error.status if 400 <= error.status < 500 else (503 if error.status == 503 else 502)
        return render(
            request,
            "error.html",
            user=_user_or_none(request),
            status_code=status,
            title="The request could not be completed",
            message=f"{error.service}: {error.message}",
        )


def _install_failure_pages(app: FastAPI) -> None:
    """Unknown pages, bad forms and the console's own bugs as pages; a bug is logged in full."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        titles = {404: "Page not found", 405: "Method not allowed"}
        return render(
            request,
            "error.html",
            user=_user_or_none(request),
            status_code=error.status_code,
            title=titles.get(error.status_code, "Request refused"),
            message=str(error.detail),
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_form(request: Request, error: RequestValidationError) -> Response:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'][1:])}: {item['msg']}"
            for item in bounded_validation_errors(error.errors())
        )
        return render(
            request,
            "error.html",
            user=_user_or_none(request),
            status_code=422,
            title="The form was not filled in correctly",
            message=fields,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.error("console page failed", path=request.url.path, exc_info=error)
        return render(
            request,
            "error.html",
            status_code=500,
            title="Something went wrong",
            message="The console hit an unexpected error; it has been logged.",
        )


def build_app(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """The console app; ``transport`` replaces the network in tests (``httpx.MockTransport``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=settings.api_timeout_s, transport=transport) as client:
            app.state.services = Services(settings.service_urls, client)
            yield

    app = FastAPI(title="Tandem console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.verifier = JwtVerifier(settings)

    @app.middleware("http")
    async def same_origin_posts(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if not origin_allowed(request):
            return render(
                request,
                "error.html",
                status_code=403,
                title="Request refused",
                message="This form was not sent from the console itself (Origin check).",
            )
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; style-src 'self'; img-src 'self' data:"
        )
        return response

    _install_own_routes(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(auth.router)
    if settings.env == "dev":
        app.include_router(auth.dev_router)  # absent in prod: its routes answer 404
    app.include_router(mentorship.router)
    app.include_router(employee.router)
    app.include_router(employee.links)
    app.include_router(admin.router)
    app.include_router(program_insights.router)
    app.include_router(operations.router)
    _install_error_pages(app)
    _install_failure_pages(app)
    # The body limit and timeout of every service; sessions are cookies, so no bearer check
    # before the body, but repeated refused sign-ins (401) from one address are answered 429.
    edge = EdgePolicy.from_settings(settings, authenticate=False)
    app.add_middleware(HttpEdge, policy=edge, failures=AuthFailures.from_settings(settings))
    return app


def _install_own_routes(app: FastAPI) -> None:
    """Health probes, the favicon and the home page: the only routes without a pages module."""

    @app.get("/health/live", include_in_schema=False)
    async def live() -> JSONResponse:
        return JSONResponse({"status": "live"})

    @app.get("/health/ready", include_in_schema=False)
    async def ready() -> JSONResponse:
        # Nothing of its own to check: the console holds no data and no connections.
        return JSONResponse({"status": "ready", "checks": {}})

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        user = _user_or_none(request)
        if user is None:
            return RedirectResponse("/signin", status_code=303)
        return render(request, "home.html", user=user)
