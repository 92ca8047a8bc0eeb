"""SCIM 2.0 provisioning (``/scim/v2`` Users and Groups, RFC 7643/7644) for identity providers
such as Entra ID and Okta: thin routes over ``service_layer/scim.py``. Role ``hr_integration``.
"""

from typing import Any

from fastapi import Request, Response

from tandem_profiles.domain.scim.attributes import GROUP, USER
from tandem_profiles.domain.scim.groups import group_resource
from tandem_profiles.domain.scim.query import Filter, Projection, parse_filter
from tandem_profiles.domain.scim.users import user_resource
from tandem_profiles.entrypoints.deps import Uow
from tandem_profiles.entrypoints.scim_responses import (
    ScimResponse,
    json_body,
    list_response,
    paging,
    scim_router,
)
from tandem_profiles.service_layer import scim as use_cases
from tandem_profiles.service_layer.unit_of_work import LoadedGroup, LoadedProfile, UnitOfWork

__all__ = ["router"]

router = scim_router()
_SCAN_PAGE = 500


def _projection(request: Request) -> Projection:
    return Projection.of(
        request.query_params.get("attributes"), request.query_params.get("excludedAttributes")
    )


def _user(request: Request, loaded: LoadedProfile) -> dict[str, Any]:
    location = str(request.url_for("scim_get_user", user_id=loaded.profile.employee_id))
    return user_resource(loaded.profile, location=location, revision=loaded.revision)


def _group(request: Request, loaded: LoadedGroup) -> dict[str, Any]:
    location = str(request.url_for("scim_get_group", group_id=loaded.group.group_id))
    users = str(request.url_for("scim_list_users"))
    return group_resource(loaded.group, location=location, revision=loaded.revision, user_location=users)


def _respond(request: Request, resource: dict[str, Any], table: Any, status: int = 200) -> Response:
    meta = resource["meta"]
    if status == 200 and request.method == "GET":
        tags = request.headers.get("If-None-Match")
        if tags and meta["version"] in [tag.strip() for tag in tags.split(",")]:
            return Response(status_code=304, headers={"ETag": meta["version"]})
    headers = {"ETag": meta["version"]}
    if status == 201:
        headers["Location"] = meta["location"]
    return ScimResponse(_projection(request).apply(resource, table), status_code=status, headers=headers)


# --- Users -----------------------------------------------------------------------------------


@router.post("/Users", name="scim_create_user")
async def create_user(request: Request, uow: Uow) -> Response:
    loaded = await use_cases.create_user(uow, await json_body(request))
    return _respond(request, _user(request, loaded), USER, 201)


@router.get("/Users/{user_id}", name="scim_get_user")
async def get_user(user_id: str, request: Request, uow: Uow) -> Response:
    return _respond(request, _user(request, await use_cases.existing_user(uow, user_id)), USER)


@router.put("/Users/{user_id}", name="scim_replace_user")
async def replace_user(user_id: str, request: Request, uow: Uow) -> Response:
    body, if_match = await json_body(request), request.headers.get("If-Match")
    loaded = await use_cases.replace_user(uow, user_id, body, if_match=if_match)
    return _respond(request, _user(request, loaded), USER)


@router.patch("/Users/{user_id}", name="scim_patch_user")
async def patch_user(user_id: str, request: Request, uow: Uow) -> Response:
    body, if_match = await json_body(request), request.headers.get("If-Match")
    loaded = await use_cases.patch_user(uow, user_id, body, if_match=if_match)
    return _respond(request, _user(request, loaded), USER)


@router.delete("/Users/{user_id}", name="scim_delete_user")
async def delete_user(user_id: str, request: Request, uow: Uow) -> Response:
    await use_cases.delete_user(uow, user_id, if_match=request.headers.get("If-Match"))
    return Response(status_code=204)


async def _candidate_users(uow: UnitOfWork, found: Filter | None) -> list[LoadedProfile]:
    """The users a filter can match: looked up by id or userName when it names one, else all."""
    equals = found.equals if found else {}
    if "username" in equals:
        return await uow.profiles.find_by_user_name(equals["username"])
    for key in ("id", "externalid"):
        if key in equals:
            loaded = await uow.profiles.load(equals[key])
            return [loaded] if loaded is not None else []
    everyone: list[LoadedProfile] = []
    while True:  # no narrowing term: every user is matched (FerretDB scans for any filter anyway)
        _, page = await uow.profiles.page(
            skip=len(everyone), limit=_SCAN_PAGE, hiding_left_by=use_cases.DELETED_BY
        )
        everyone.extend(page)
        if len(page) < _SCAN_PAGE:
            return everyone


@router.get("/Users", name="scim_list_users")
async def list_users(request: Request, uow: Uow) -> Response:
    start, count = paging(request)
    text = request.query_params.get("filter")
    projection = _projection(request)
    if text is None:
        total, page = await uow.profiles.page(
            skip=start - 1, limit=count, hiding_left_by=use_cases.DELETED_BY
        )
        users = [_user(request, loaded) for loaded in page]
    else:
        found = parse_filter(text, "User")
        candidates = await _candidate_users(uow, found)
        rendered = [_user(request, c) for c in candidates if use_cases.is_visible(c.profile)]
        matches = [user for user in rendered if found.match(user)]
        total, users = len(matches), matches[start - 1 : start - 1 + count]
    return list_response([projection.apply(user, USER) for user in users], total=total, start=start)


# --- Groups ----------------------------------------------------------------------------------


@router.post("/Groups", name="scim_create_group")
async def create_group(request: Request, uow: Uow) -> Response:
    loaded = await use_cases.create_group(uow, await json_body(request))
    return _respond(request, _group(request, loaded), GROUP, 201)


@router.get("/Groups/{group_id}", name="scim_get_group")
async def get_group(group_id: str, request: Request, uow: Uow) -> Response:
    return _respond(request, _group(request, await use_cases.existing_group(uow, group_id)), GROUP)


@router.put("/Groups/{group_id}", name="scim_replace_group")
async def replace_group(group_id: str, request: Request, uow: Uow) -> Response:
    body, if_match = await json_body(request), request.headers.get("If-Match")
    loaded = await use_cases.replace_group(uow, group_id, body, if_match=if_match)
    return _respond(request, _group(request, loaded), GROUP)


@router.patch("/Groups/{group_id}", name="scim_patch_group")
async def patch_group(group_id: str, request: Request, uow: Uow) -> Response:
    body, if_match = await json_body(request), request.headers.get("If-Match")
    loaded = await use_cases.patch_group(uow, group_id, body, if_match=if_match)
    if "members" in (request.query_params.get("excludedAttributes") or ""):
        return Response(status_code=204)  # Entra ID asks for no members back
    return _respond(request, _group(request, loaded), GROUP)


@router.delete("/Groups/{group_id}", name="scim_delete_group")
async def delete_group(group_id: str, request: Request, uow: Uow) -> Response:
    await use_cases.delete_group(uow, group_id, if_match=request.headers.get("If-Match"))
    return Response(status_code=204)


@router.get("/Groups", name="scim_list_groups")
async def list_groups(request: Request, uow: Uow) -> Response:
    start, count = paging(request)
    text = request.query_params.get("filter")
    projection = _projection(request)
    if text is None:
        total, page = await uow.groups.page(skip=start - 1, limit=count)
        groups = [_group(request, loaded) for loaded in page]
    else:
        found = parse_filter(text, "Group")
        if "displayname" in found.equals:
            candidates = await uow.groups.find_by_display_name(found.equals["displayname"])
        else:
            _, candidates = await uow.groups.page(skip=0, limit=10_000)
        matches = [group for group in (_group(request, c) for c in candidates) if found.match(group)]
        total, groups = len(matches), matches[start - 1 : start - 1 + count]
    return list_response([projection.apply(group, GROUP) for group in groups], total=total, start=start)
