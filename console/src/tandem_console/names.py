"""People's display names for the pages, from the profiles service's directory (names only).

One call per page for every id it shows (``GET /v1/names``, 200 ids a call); a name that is not
known (an erased person, a service that did not answer) falls back to the id, so a page never
fails for want of a name.
"""

from collections.abc import Iterable

from tandem_console.api import ApiError, Services

__all__ = ["Names", "names_of"]

BATCH = 200


class Names:
    """``names("e-1")`` → ``"Ada Lovelace"``, or ``"e-1"`` when the name is unknown."""

    def __init__(self, known: dict[str, str] | None = None) -> None:
        self.known = dict(known or {})

    def __call__(self, employee_id: str | None) -> str:
        if not employee_id:
            return ""
        return self.known.get(employee_id) or employee_id

    def with_id(self, employee_id: str) -> str:
        """``"Ada Lovelace (e-1)"``: where two people may share a name (admin tables)."""
        name = self.known.get(employee_id)
        return f"{name} ({employee_id})" if name else employee_id


async def names_of(services: Services, token: str, ids: Iterable[str | None]) -> Names:
    wanted = sorted({one for one in ids if one})
    known: dict[str, str] = {}
    for start in range(0, len(wanted), BATCH):
        batch = wanted[start : start + BATCH]
        try:
            answer = await services.get("profiles", "/v1/names", token=token, id=batch)
        except ApiError:
            return Names(known)  # names are a courtesy: ids stand in for them
        known |= {str(k): str(v) for k, v in (answer or {}).get("names", {}).items()}
    return Names(known)
