"""SCIM Groups: organisation units an identity provider pushes (a department, an employee
resource group, a cohort). A group lists its members; each member's profile carries the ids of
its groups. Pure.
"""

from dataclasses import dataclass, replace

__all__ = ["Group", "Member", "changed_members"]


@dataclass(frozen=True, slots=True)
class Member:
    value: str  # the employee id
    display: str | None = None
    type: str | None = None


@dataclass(frozen=True, slots=True)
class Group:
    group_id: str
    display_name: str
    external_id: str | None = None
    members: tuple[Member, ...] = ()
    created: str = ""  # ISO 8601 UTC
    last_modified: str = ""

    @property
    def member_ids(self) -> frozenset[str]:
        return frozenset(member.value for member in self.members)

    def touched(self, at: str) -> "Group":
        return replace(self, last_modified=at)


def changed_members(before: Group | None, after: Group | None) -> set[str]:
    """Employees who joined or left the group: their profiles' group lists change."""
    old = before.member_ids if before else frozenset()
    new = after.member_ids if after else frozenset()
    return set(old ^ new)
