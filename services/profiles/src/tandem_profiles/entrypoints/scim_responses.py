"""How ``/scim/v2`` answers: the SCIM media type, and every failure in the SCIM error schema."""

import json
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Final

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from tandem_chassis.concurrency import ConflictError

from tandem_profiles.domain.scim.attributes import LIST_SCHEMA
from tandem_profiles.domain.scim.errors import ScimError
from tandem_profiles.entrypoints.deps import roles

__all__ = ["MAX_RESULTS", "ScimResponse", "json_body", "list_response", "paging", "scim_router"]

MEDIA_TYPE: Final = "application/scim+json"
MAX_RESULTS: Final = 200
_MAX_INDEX: Final = 2**31 - 1
_SCIM_TYPES: Final = {409: "uniqueness"}


class ScimResponse(JSONResponse):
    media_type = MEDIA_TYPE


def _error(error: ScimError, headers: Any = None) -> ScimResponse:
    return ScimResponse(error.body(), status_code=error.status, headers=headers)


class ScimRoute(APIRoute):
    """Every failure on a SCIM route, auth and validation included, in the SCIM error schema."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except ScimError as error:
                return _error(error)
            except ConflictError as error:
                return _error(ScimError(409, str(error)))
            except RequestValidationError as error:
                problems = "; ".join(str(problem.get("msg")) for problem in error.errors())
                return _error(ScimError(400, problems, "invalidValue"))
            except HTTPException as error:
                scim = ScimError(error.status_code, str(error.detail), _SCIM_TYPES.get(error.status_code))
                return _error(scim, error.headers)

        return handler


def scim_router() -> APIRouter:
    return APIRouter(
        prefix="/scim/v2",
        tags=["scim"],
        route_class=ScimRoute,
        dependencies=[roles("hr_integration")],
    )


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads((await request.body()).decode("utf-8"))
    # RecursionError: nesting deeper than the parser's stack (was a 500)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise ScimError(400, "the body is not JSON", "invalidSyntax") from error
    if not isinstance(body, dict):
        raise ScimError(400, "the body must be a JSON object", "invalidSyntax")
    return body


def _int_parameter(parameters: Mapping[str, str], name: str, default: int) -> int:
    raw = parameters.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise ScimError(400, f"{name} must be an integer", "invalidValue") from error
    # Beyond any page there is: an empty one (an unbounded skip overflowed the store's int64: a 500).
    return max(-_MAX_INDEX, min(value, _MAX_INDEX))


def paging(parameters: Mapping[str, str]) -> tuple[int, int]:
    """(startIndex, count) of a list request (RFC 7644 §3.4.2.4)."""
    start = max(1, _int_parameter(parameters, "startIndex", 1))
    count = min(MAX_RESULTS, max(0, _int_parameter(parameters, "count", 100)))
    return start, count


def list_response(resources: list[dict[str, Any]], *, total: int, start: int = 1) -> ScimResponse:
    return ScimResponse(
        {
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
    )
