"""SCIM errors (RFC 7644 §3.12) and the rule that an error never echoes a large input."""

from typing import Final

__all__ = ["ERROR_SCHEMA", "MAX_DETAIL", "ScimError", "excerpt"]

ERROR_SCHEMA: Final = "urn:ietf:params:scim:api:messages:2.0:Error"
MAX_DETAIL: Final = 500
_EXCERPT: Final = 60


def excerpt(value: object) -> str:
    """A value as it may appear in an error: its ``repr`` cut to a short prefix."""
    text = repr(value)
    return text if len(text) <= _EXCERPT else f"{text[:_EXCERPT]}…"


class ScimError(Exception):
    """A request SCIM refuses; rendered with the SCIM error schema."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        detail = detail if len(detail) <= MAX_DETAIL else f"{detail[:MAX_DETAIL]}…"
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {
            "schemas": [ERROR_SCHEMA],
            "status": str(self.status),
            "detail": self.detail,
        }
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body
