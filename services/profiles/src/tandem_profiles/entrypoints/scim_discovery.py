"""SCIM discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas, from the
attribute table; other methods on them answer 405."""

from typing import Any

from fastapi import Request, Response

from tandem_profiles.domain.scim.attributes import ENTERPRISE_SCHEMA, GROUP_SCHEMA, SCHEMAS, USER_SCHEMA
from tandem_profiles.domain.scim.errors import ScimError
from tandem_profiles.entrypoints.scim_responses import MAX_RESULTS, ScimResponse, list_response, scim_router

__all__ = ["router"]

router = scim_router()
_RESOURCE_TYPES = {
    "User": ("/Users", "An employee", USER_SCHEMA, [{"schema": ENTERPRISE_SCHEMA, "required": False}]),
    "Group": ("/Groups", "An organisation unit: a department, a resource group, a cohort", GROUP_SCHEMA, []),
}
_WRITES = ["POST", "PUT", "PATCH", "DELETE"]


def _base(request: Request) -> str:
    return str(request.url_for("scim_service_provider_config")).removesuffix("/ServiceProviderConfig")


def _resource_type(request: Request, name: str) -> dict[str, Any]:
    endpoint, description, schema, extensions = _RESOURCE_TYPES[name]
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": name,
        "name": name,
        "endpoint": endpoint,
        "description": description,
        "schema": schema,
        "schemaExtensions": extensions,
        "meta": {"resourceType": "ResourceType", "location": f"{_base(request)}/ResourceTypes/{name}"},
    }


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
            "etag": {"supported": True},
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
    found = [_resource_type(request, name) for name in _RESOURCE_TYPES]
    return list_response(found, total=len(found))


@router.get("/ResourceTypes/{name}", name="scim_resource_type")
async def resource_type(name: str, request: Request) -> Response:
    if name not in _RESOURCE_TYPES:
        raise ScimError(404, "ResourceType not found")
    return ScimResponse(_resource_type(request, name))


@router.get("/Schemas", name="scim_schemas")
async def schemas(request: Request) -> Response:
    found = [table.to_scim(f"{_base(request)}/Schemas/{uri}") for uri, table in SCHEMAS.items()]
    return list_response(found, total=len(found))


@router.get("/Schemas/{uri}", name="scim_schema")
async def schema(uri: str, request: Request) -> Response:
    if uri not in SCHEMAS:
        raise ScimError(404, "Schema not found")
    return ScimResponse(SCHEMAS[uri].to_scim(f"{_base(request)}/Schemas/{uri}"))


@router.api_route("/ServiceProviderConfig", methods=_WRITES, include_in_schema=False)
@router.api_route("/ResourceTypes", methods=_WRITES, include_in_schema=False)
@router.api_route("/ResourceTypes/{name}", methods=_WRITES, include_in_schema=False)
@router.api_route("/Schemas", methods=_WRITES, include_in_schema=False)
@router.api_route("/Schemas/{uri}", methods=_WRITES, include_in_schema=False)
async def read_only_endpoint(request: Request) -> Response:
    """RFC 7644 §3.2: a method an endpoint does not support is a 405 (with ``Allow``)."""
    refused = ScimError(405, f"{request.method} is not supported here; use GET")
    return ScimResponse(refused.body(), status_code=405, headers={"Allow": "GET"})


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def unsupported(rest: str) -> Response:
    """Endpoints not offered here (Bulk, Me) answer in the SCIM error schema."""
    if rest == "Me":  # RFC 7644 §3.11: optional; 501 says so
        raise ScimError(501, "/Me is not supported")
    raise ScimError(404, "this endpoint is not supported")
