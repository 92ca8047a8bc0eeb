"""SCIM 2.0 provisioning (``/scim/v2``, RFC 7643/7644) for identity providers such as Okta and
Entra ID. Every write becomes the ``hr.employees`` contract events and goes through the same use
case as the Kafka subscriber (see ``domain/scim.py`` for the mapping). Role ``hr_integration``.
"""

import json
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from tandem_chassis import require_roles
from tandem_contracts import EmployeeLeft

from tandem_profiles.adapters.repository import ProfileRepository
from tandem_profiles.domain.profile import Profile
from tandem_profiles.domain.scim import (
    DELETED_BY,
    ENTERPRISE_SCHEMA,
    ERROR_SCHEMA,
    LIST_SCHEMA,
    USER_SCHEMA,
    HrEvent,
    ScimError,
    apply_patch,
    delete_event_id,
    hr_events,
    hr_values,
    is_deleted,
    normalise_user,
    parse_filter,
    user_resource,
)
from tandem_profiles.service_layer.profiles import apply_hr_change

__all__ = ["router"]

MEDIA_TYPE = "application/scim+json"
MAX_RESULTS = 200
_MAX_INDEX = 2**31 - 1
_SCIM_TYPES = {401: None, 403: None, 404: None, 405: None, 409: "uniqueness"}


class ScimResponse(JSONResponse):
    media_type = MEDIA_TYPE


def scim_error(status: int, detail: str, scim_type: str | None = None, headers: Any = None) -> ScimResponse:
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return ScimResponse(body, status_code=status, headers=headers)


class ScimRoute(APIRoute):
    """Every failure on a SCIM route, auth and validation included, in the SCIM error schema."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except ScimError as error:
                return scim_error(error.status, error.detail, error.scim_type)
            except RequestValidationError as error:
                return scim_error(400, str(error.errors())[:500], "invalidValue")
            except HTTPException as error:
                return scim_error(
                    error.status_code,
                    str(error.detail),
                    _SCIM_TYPES.get(error.status_code),
                    error.headers,
                )

        return handler


router = APIRouter(
    prefix="/scim/v2",
    tags=["scim"],
    route_class=ScimRoute,
    dependencies=[require_roles("hr_integration")],
)


def _repository(request: Request) -> ProfileRepository:
    repository: ProfileRepository = request.app.state.profiles
    return repository


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads((await request.body()).decode("utf-8"))
    # RecursionError: nesting deeper than the parser's stack (was a 500)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise ScimError(400, f"the body is not JSON: {str(error)[:300]}", "invalidSyntax") from error
    if not isinstance(body, dict):
        raise ScimError(400, "the body must be a JSON object", "invalidSyntax")
    return body


def _location(request: Request, employee_id: str) -> str:
    return str(request.url_for("scim_get_user", user_id=employee_id))


def _user(request: Request, profile: Profile) -> dict[str, Any]:
    return user_resource(profile, location=_location(request, profile.employee_id))


def _user_response(request: Request, profile: Profile, status: int = 200) -> ScimResponse:
    user = _user(request, profile)
    headers = {"ETag": user["meta"]["version"]}
    if status == 201:
        headers["Location"] = user["meta"]["location"]
    return ScimResponse(user, status_code=status, headers=headers)


def _visible(profile: Profile | None) -> bool:
    return profile is not None and profile.known and profile.status != "erased" and not is_deleted(profile)


async def _existing(request: Request, user_id: str) -> Profile:
    profile, _ = await _repository(request).load(user_id)
    if profile is None or not _visible(profile):
        raise ScimError(404, f"User {user_id} not found")
    return profile


async def _apply(request: Request, events: list[HrEvent], *, deleting: bool = False) -> Profile | None:
    """Each event through the same use case the ``hr.employees`` subscriber calls."""
    profile = None
    for event in events:
        event_id = delete_event_id() if deleting else str(uuid.uuid4())
        profile = await apply_hr_change(
            event, event_id=event_id, time=datetime.now(UTC), repository=_repository(request)
        )
    return profile


@router.post("/Users", name="scim_create_user")
async def create_user(request: Request) -> Response:
    """Create (or re-hire) an employee: ``id`` = ``externalId`` when given, else a new id."""
    user = normalise_user(await _body(request))
    employee_id = user.get("externalId") or str(uuid.uuid4())
    if not isinstance(employee_id, str) or not employee_id.strip():
        raise ScimError(400, "externalId must be a non-empty string", "invalidValue")
    employee_id = employee_id.strip()
    repository = _repository(request)
    existing, _ = await repository.load(employee_id)
    if _visible(existing) and existing is not None and existing.status == "active":
        raise ScimError(409, f"User {employee_id} already exists", "uniqueness")
    email = hr_values(user)["email"]
    if isinstance(email, str):
        for other in await repository.find_by_email(email):
            if other.employee_id != employee_id and other.status == "active":
                raise ScimError(409, "userName is already taken", "uniqueness")
    current = _user(request, existing) if existing is not None and _visible(existing) else None
    desired = user if current is None or "active" in user else user | {"active": True}
    profile = await _apply(request, hr_events(employee_id, current=current, desired=desired))
    assert profile is not None
    return _user_response(request, profile, 201)


@router.get("/Users/{user_id}", name="scim_get_user")
async def get_user(user_id: str, request: Request) -> Response:
    return _user_response(request, await _existing(request, user_id))


@router.put("/Users/{user_id}", name="scim_replace_user")
async def replace_user(user_id: str, request: Request) -> Response:
    """Replace the User; an absent ``active`` leaves the employee's status as it is."""
    current = _user(request, await _existing(request, user_id))
    desired = normalise_user(await _body(request))
    if desired.get("externalId") not in (None, user_id):
        raise ScimError(400, "externalId is the employee id and cannot change", "mutability")
    profile = await _apply(request, hr_events(user_id, current=current, desired=desired))
    return _user_response(request, profile or await _existing(request, user_id))


@router.patch("/Users/{user_id}", name="scim_patch_user")
async def patch_user(user_id: str, request: Request) -> Response:
    current = _user(request, await _existing(request, user_id))
    desired = apply_patch(current, await _body(request))
    profile = await _apply(request, hr_events(user_id, current=current, desired=desired))
    return _user_response(request, profile or await _existing(request, user_id))


@router.delete("/Users/{user_id}", name="scim_delete_user")
async def delete_user(user_id: str, request: Request) -> Response:
    """Deactivate (``hr.employee.left``), not erase: the retention job erases later."""
    await _existing(request, user_id)
    await _apply(request, [EmployeeLeft(employee_id=user_id)], deleting=True)
    return Response(status_code=204)


def _int_parameter(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise ScimError(400, f"{name} must be an integer", "invalidValue") from error
    # Beyond any page there is: an empty one (an unbounded skip overflowed the store's int64: a 500).
    return max(-_MAX_INDEX, min(value, _MAX_INDEX))


@router.get("/Users", name="scim_list_users")
async def list_users(request: Request) -> Response:
    start = max(1, _int_parameter(request, "startIndex", 1))
    count = min(MAX_RESULTS, max(0, _int_parameter(request, "count", 100)))
    repository = _repository(request)
    query = request.query_params.get("filter")
    if query is None:
        total, page = await repository.page(skip=start - 1, limit=count, hiding_left_by=DELETED_BY)
    else:
        attribute, value = parse_filter(query)
        if attribute == "userName":
            found = await repository.find_by_email(value)
        else:
            profile, _ = await repository.load(value)
            found = [profile] if profile is not None else []
        matches = [profile for profile in found if _visible(profile)]
        total, page = len(matches), matches[start - 1 : start - 1 + count]
    return ScimResponse(
        {
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": len(page),
            "Resources": [_user(request, profile) for profile in page],
        }
    )


# --- discovery (RFC 7644 §4, RFC 7643 §5-7) ------------------------------------------------


def _attribute(name: str, description: str, **overrides: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": "string",
        "multiValued": False,
        "description": description,
        "required": False,
        "caseExact": False,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    } | overrides


_USER_ATTRIBUTES = [
    _attribute("userName", "The employee's email address.", required=True, uniqueness="server"),
    _attribute("externalId", "The employee id; set once on create.", caseExact=True, mutability="immutable"),
    _attribute(
        "name",
        "Parts of the name; used for the display name when displayName is absent.",
        type="complex",
        returned="request",
        subAttributes=[
            _attribute("formatted", "The full name."),
            _attribute("givenName", "The given name."),
            _attribute("familyName", "The family name."),
        ],
    ),
    _attribute("displayName", "The name shown to other employees."),
    _attribute("title", "The job title."),
    _attribute("preferredLanguage", "The preferred language; its ISO 639-1 part is kept."),
    _attribute("locale", "Used for the language when preferredLanguage is absent.", returned="request"),
    _attribute("timezone", "The IANA time zone."),
    _attribute("active", "false: the employee has left.", type="boolean"),
    _attribute(
        "emails",
        "The work email (the userName).",
        type="complex",
        multiValued=True,
        mutability="readOnly",
        subAttributes=[
            _attribute("value", "The email address."),
            _attribute("type", "work."),
            _attribute("primary", "The primary email.", type="boolean"),
        ],
    ),
    _attribute(
        "addresses",
        "The work location: the locality (or formatted text) of the primary or work address.",
        type="complex",
        multiValued=True,
        subAttributes=[
            _attribute("locality", "The city."),
            _attribute("formatted", "The full address."),
            _attribute("type", "work."),
            _attribute("primary", "The primary address.", type="boolean"),
        ],
    ),
]
_ENTERPRISE_ATTRIBUTES = [
    _attribute("department", "The department."),
    _attribute(
        "manager",
        "The employee's manager.",
        type="complex",
        subAttributes=[
            _attribute("value", "The manager's id.", caseExact=True),
            _attribute("$ref", "The manager's User URI.", type="reference", referenceTypes=["User"]),
        ],
    ),
]
_SCHEMAS = {
    USER_SCHEMA: ("User", "User Account", _USER_ATTRIBUTES),
    ENTERPRISE_SCHEMA: ("EnterpriseUser", "Enterprise User", _ENTERPRISE_ATTRIBUTES),
}


def _base(request: Request) -> str:
    return str(request.url_for("scim_service_provider_config")).removesuffix("/ServiceProviderConfig")


def _schema(request: Request, uri: str) -> dict[str, Any]:
    name, description, attributes = _SCHEMAS[uri]
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": uri,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": f"{_base(request)}/Schemas/{uri}"},
    }


def _resource_type(request: Request) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "An employee",
        "schema": USER_SCHEMA,
        "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": False}],
        "meta": {
            "resourceType": "ResourceType",
            "location": f"{_base(request)}/ResourceTypes/User",
        },
    }


def _list(resources: list[dict[str, Any]]) -> ScimResponse:
    return ScimResponse(
        {
            "schemas": [LIST_SCHEMA],
            "totalResults": len(resources),
            "startIndex": 1,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
    )


@router.get("/ServiceProviderConfig", name="scim_service_provider_config")
async def service_provider_config(request: Request) -> Response:
    return ScimResponse(
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
            "patch": {"supported": True},
            "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": True, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": False},
            "sort": {"supported": False},
            "etag": {"supported": False},
            "authenticationSchemes": [
                {
                    "type": "oauthbearertoken",
                    "name": "OAuth Bearer Token",
                    "description": "A bearer JWT with the role hr_integration",
                    "specUri": "https://www.rfc-editor.org/info/rfc6750",
                    "primary": True,
                }
            ],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": f"{_base(request)}/ServiceProviderConfig",
            },
        }
    )


@router.get("/ResourceTypes", name="scim_resource_types")
async def resource_types(request: Request) -> Response:
    return _list([_resource_type(request)])


@router.get("/ResourceTypes/{name}", name="scim_resource_type")
async def resource_type(name: str, request: Request) -> Response:
    if name != "User":
        raise ScimError(404, f"ResourceType {name} not found")
    return ScimResponse(_resource_type(request))


@router.get("/Schemas", name="scim_schemas")
async def schemas(request: Request) -> Response:
    return _list([_schema(request, uri) for uri in _SCHEMAS])


@router.get("/Schemas/{uri}", name="scim_schema")
async def schema(uri: str, request: Request) -> Response:
    if uri not in _SCHEMAS:
        raise ScimError(404, f"Schema {uri} not found")
    return ScimResponse(_schema(request, uri))


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def unsupported(rest: str) -> Response:
    """Endpoints not offered here (Groups, Bulk, .search, Me) answer in the SCIM error schema."""
    if rest == "Me":
        raise ScimError(501, "/Me is not supported")
    raise ScimError(404, f"/{rest} is not supported")
