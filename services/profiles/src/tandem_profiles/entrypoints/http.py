"""The profiles HTTP API (``/v1``): thin routes over the use cases."""

import base64
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from tandem_chassis import CurrentPrincipal, require_self_or_roles

from tandem_profiles.domain.profile import InactiveProfileError, Profile
from tandem_profiles.domain.skills import normalise_skill
from tandem_profiles.entrypoints.deps import Uow, roles
from tandem_profiles.entrypoints.schemas import MentoringPatch, NamesView, ProfilePage, ProfileView
from tandem_profiles.service_layer.profiles import (
    ProfileNotFoundError,
    erase_profile,
    update_mentoring_profile,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["profiles"])
READERS = ("program_admin", "hr_integration")
MAX_NAMES = 200


def _view(profile: Profile) -> ProfileView:
    return ProfileView.model_validate(profile.snapshot())


async def _known(uow: Uow, employee_id: str) -> Profile:
    loaded = await uow.profiles.load(employee_id)
    if loaded is None or not loaded.profile.known:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no profile for employee {employee_id}")
    return loaded.profile


@router.get("/names", response_model=NamesView, dependencies=[roles("employee", *READERS)])
async def get_names(
    uow: Uow, ids: Annotated[list[str], Query(alias="id", max_length=MAX_NAMES)]
) -> NamesView:
    """Display names of colleagues (``?id=a&id=b``), what an org directory shows: names only.

    Unknown and erased people are left out, so callers fall back to the id.
    """
    found = await uow.profiles.load_many(sorted({one for one in ids if one}))
    return NamesView(
        names={
            employee_id: loaded.profile.hr.display_name
            for employee_id, loaded in found.items()
            if loaded.profile.known and loaded.profile.status != "erased" and loaded.profile.hr.display_name
        }
    )


@router.get("/profiles/{employee_id}", response_model=ProfileView)
async def get_profile(employee_id: str, principal: CurrentPrincipal, uow: Uow) -> ProfileView:
    require_self_or_roles(principal, employee_id, *READERS)
    return _view(await _known(uow, employee_id))


@router.patch("/profiles/{employee_id}", response_model=ProfileView)
async def patch_profile(
    employee_id: str, patch: MentoringPatch, principal: CurrentPrincipal, uow: Uow
) -> ProfileView:
    require_self_or_roles(principal, employee_id)
    try:
        profile = await update_mentoring_profile(employee_id, patch.changes(), uow=uow)
    except ProfileNotFoundError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no profile for employee {employee_id}") from error
    except InactiveProfileError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{error}: changes are refused") from error
    return _view(profile)


@router.delete(
    "/profiles/{employee_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[roles("hr_integration")],
)
async def delete_profile(employee_id: str, uow: Uow) -> None:
    """Erase the employee's personal data at once (publishes ``profile.erased``)."""
    try:
        await erase_profile(employee_id, uow=uow, reason_id="http-delete")
    except ProfileNotFoundError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no profile for employee {employee_id}") from error


def _cursor(employee_id: str) -> str:
    return base64.urlsafe_b64encode(employee_id.encode()).decode()


def _after(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError) as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "invalid cursor") from error


@router.get("/profiles", response_model=ProfilePage, dependencies=[roles(*READERS)])
async def list_profiles(
    uow: Uow,
    role: Annotated[str | None, Query(pattern="^(mentor|mentee)$")] = None,
    skill: Annotated[str | None, Query(max_length=64)] = None,
    department: Annotated[str | None, Query(max_length=256)] = None,
    profile_status: Annotated[str | None, Query(alias="status", pattern="^(active|inactive|erased)$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ProfilePage:
    """Profiles in employee-id order; pass ``next_cursor`` back as ``cursor`` for the next page."""
    profiles = await uow.profiles.search(
        role=role,
        skill=normalise_skill(skill) if skill else None,
        department=department,
        status=profile_status,
        limit=limit + 1,
        after=_after(cursor),
    )
    page, more = profiles[:limit], len(profiles) > limit
    return ProfilePage(
        items=[_view(profile) for profile in page],
        next_cursor=_cursor(page[-1].employee_id) if more and page else None,
    )
