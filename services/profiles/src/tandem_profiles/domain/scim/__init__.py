"""SCIM 2.0 (RFC 7643/7644): the attribute table, User and Group mapping, PATCH and queries."""

from tandem_profiles.domain.scim.attributes import (
    ENTERPRISE_SCHEMA,
    GROUP_SCHEMA,
    LIST_SCHEMA,
    PATCH_SCHEMA,
    USER_SCHEMA,
)
from tandem_profiles.domain.scim.errors import ERROR_SCHEMA, ScimError, excerpt
from tandem_profiles.domain.scim.patch import Resource
from tandem_profiles.domain.scim.users import (
    USER_RESOURCE,
    hr_events,
    hr_values,
    normalise_user,
    user_resource,
)

__all__ = [
    "ENTERPRISE_SCHEMA",
    "ERROR_SCHEMA",
    "GROUP_SCHEMA",
    "LIST_SCHEMA",
    "PATCH_SCHEMA",
    "USER_RESOURCE",
    "USER_SCHEMA",
    "Resource",
    "ScimError",
    "excerpt",
    "hr_events",
    "hr_values",
    "normalise_user",
    "user_resource",
]
