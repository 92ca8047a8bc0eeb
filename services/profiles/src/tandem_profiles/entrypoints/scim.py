"""SCIM 2.0 provisioning (``/scim/v2`` Users and Groups, RFC 7643/7644) for identity providers
such as Entra ID and Okta: thin routes over ``service_layer/scim.py``. Role ``hr_integration``.
"""

from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response

from tandem_profiles.domain.scim.attributes import GROUP, USER
from tandem_profiles.domain.scim.errors import ScimError
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
_MAX_GROUPS_SCANNED = 10_000


def _projection(request: Request) -> Projection:
    return Projection.of(
        request.query_params.get("attributes"), request.query_params.get("excludedAttributes")
    )


def _user(request: Request, loaded: LoadedProfile) -> dict[str, Any]:
    location = str(request.url_for("scim_get_user", user_id=loaded.profile.employee_id))
    return user_resource(loaded.profile, location=location, revision=loaded.revision)


def _group(request: Request, loaded: LoadedGroup) -> dict[str, Any]:
    location = str(request.url_for("scim_get_group", group_id=loaded.group.group_id))
    return group_resource(loaded.group, location=location, revision=loaded.revision)


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


async def _every_user(uow: UnitOfWork) -> list[LoadedProfile]:
    everyone: list[LoadedProfile] = []
    while True:
        _, page = await uow.profiles.page(
            skip=len(everyone), limit=_SCAN_PAGE, hiding_left_by=use_cases.DELETED_BY
        )
        everyone.extend(page)
        if len(page) < _SCAN_PAGE:
            return everyone


async def _candidate_users(uow: UnitOfWork, found: Filter) -> list[LoadedProfile]:
    """The users a filter can match: looked up by userName or id when it names one, else all
    (FerretDB scans for any other filter anyway)."""
    if "username" in found.equals:
        return await uow.profiles.find_by_user_name(found.equals["username"])
    for key in ("id", "externalid"):
        if key in found.equals:
            loaded = await uow.profiles.load(found.equals[key])
            if key == "id" or loaded is not None:  # externalId is the id unless set later
                return [loaded] if loaded is not None else []
    return await _every_user(uow)


async def _matching_users(request: Request, uow: UnitOfWork, text: str | None) -> list[dict[str, Any]]:
    """Every visible user the filter matches (all of them without one), rendered."""
    found = parse_filter(text, "User") if text is not None else None
    candidates = await _candidate_users(uow, found) if found else await _every_user(uow)
    rendered = [_user(request, c) for c in candidates if use_cases.is_visible(c.profile)]
    if found is None:
        return rendered
    matches = [user for user in rendered if found.match(user)]
    if not matches and "externalid" in found.equals and "username" not in found.equals:
        rendered = [_user(request, c) for c in await _every_user(uow) if use_cases.is_visible(c.profile)]
        matches = [user for user in rendered if found.match(user)]
    return matches


async def _users(request: Request, uow: UnitOfWork, query: "_Query") -> Response:
    if query.filter is None:  # a page straight from the store
        total, page = await uow.profiles.page(
            skip=query.start - 1, limit=query.count, hiding_left_by=use_cases.DELETED_BY
        )
        users = [_user(request, loaded) for loaded in page]
    else:
        matches = await _matching_users(request, uow, query.filter)
        total, users = len(matches), matches[query.start - 1 : query.start - 1 + query.count]
    resources = [query.projection.apply(user, USER) for user in users]
    return list_response(resources, total=total, start=query.start)


@router.get("/Users", name="scim_list_users")
async def list_users(request: Request, uow: Uow) -> Response:
    return await _users(request, uow, _Query.of_parameters(request))


@router.post("/Users/.search", name="scim_search_users")
async def search_users(request: Request, uow: Uow) -> Response:
    """RFC 7644 §3.4.3: a query in the body."""
    return await _users(request, uow, _Query.of_search(await json_body(request)))


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


async def _matching_groups(request: Request, uow: UnitOfWork, text: str | None) -> list[dict[str, Any]]:
    found = parse_filter(text, "Group") if text is not None else None
    if found is not None and "displayname" in found.equals:
        candidates = await uow.groups.find_by_display_name(found.equals["displayname"])
    else:
        _, candidates = await uow.groups.page(skip=0, limit=_MAX_GROUPS_SCANNED)
    rendered = [_group(request, candidate) for candidate in candidates]
    return [group for group in rendered if found is None or found.match(group)]


async def _groups(request: Request, uow: UnitOfWork, query: "_Query") -> Response:
    if query.filter is None:
        total, page = await uow.groups.page(skip=query.start - 1, limit=query.count)
        groups = [_group(request, loaded) for loaded in page]
    else:
        matches = await _matching_groups(request, uow, query.filter)
        total, groups = len(matches), matches[query.start - 1 : query.start - 1 + query.count]
    resources = [query.projection.apply(group, GROUP) for group in groups]
    return list_response(resources, total=total, start=query.start)


@router.get("/Groups", name="scim_list_groups")
async def list_groups(request: Request, uow: Uow) -> Response:
    return await _groups(request, uow, _Query.of_parameters(request))


@router.post("/Groups/.search", name="scim_search_groups")
async def search_groups(request: Request, uow: Uow) -> Response:
    return await _groups(request, uow, _Query.of_search(await json_body(request)))


@router.post("/.search", name="scim_search")
async def search_everything(request: Request, uow: Uow) -> Response:
    """RFC 7644 §3.4.3 at the root: Users, then Groups; an attribute one type lacks matches none."""
    query = _Query.of_search(await json_body(request))
    users = await _matching_users(request, uow, query.filter)
    groups = await _matching_groups(request, uow, query.filter)
    everything = [query.projection.apply(u, USER) for u in users] + [
        query.projection.apply(g, GROUP) for g in groups
    ]
    page = everything[query.start - 1 : query.start - 1 + query.count]
    return list_response(page, total=len(everything), start=query.start)


@dataclass(frozen=True)
class _Query:
    filter: str | None
    start: int
    count: int
    projection: Projection

    @classmethod
    def of_parameters(cls, request: Request) -> "_Query":
        start, count = paging(dict(request.query_params))
        return cls(request.query_params.get("filter"), start, count, _projection(request))

    @classmethod
    def of_search(cls, body: dict[str, Any]) -> "_Query":
        def names(key: str) -> str | None:
            value = body.get(key)
            if value is None or isinstance(value, str):
                return value
            if isinstance(value, list) and all(isinstance(item, str) for item in value):
                return ",".join(value)
            raise ScimError(400, f"{key} must be a list of attribute names", "invalidValue")

        text = body.get("filter")
        if text is not None and not isinstance(text, str):
            raise ScimError(400, "filter must be a string", "invalidFilter")
        start, count = paging({key: str(body[key]) for key in ("startIndex", "count") if key in body})
        return cls(text, start, count, Projection.of(names("attributes"), names("excludedAttributes")))
