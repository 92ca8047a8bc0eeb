"""The mentorship state machine.

    proposed --accept--> accepted --end(reason)--> ended
    proposed --decline--> declined
    proposed --expire--> expired
    proposed --end(mentor_left | mentee_left | cancelled)--> ended

An accepted mentorship also ends ``not_a_fit`` (the mentee said the fit is poor) or
``inactive`` (the program's auto-close), both decided in the relationships service.

Who may act: the *responder* accepts or declines. For a mentee's own request (origin
"request") the responder is the mentor; for a proposal made by the system (origin "round" or
"reproposal") it is the mentee. Only the system expires a proposal. Either party, or the
system (e.g. when someone leaves the company), may end a mentorship.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

__all__ = [
    "Action",
    "ActorRole",
    "EndReason",
    "IllegalTransition",
    "LifecycleError",
    "NotPermitted",
    "Origin",
    "State",
    "is_terminal",
    "responder",
    "transition",
]


class State(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"  # the mentorship is active
    DECLINED = "declined"
    EXPIRED = "expired"
    ENDED = "ended"


class Action(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    EXPIRE = "expire"
    END = "end"


class EndReason(StrEnum):
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    MENTOR_LEFT = "mentor_left"
    MENTEE_LEFT = "mentee_left"
    NOT_A_FIT = "not_a_fit"
    INACTIVE = "inactive"


ActorRole = Literal["mentor", "mentee", "system"]
Origin = Literal["request", "round", "reproposal"]

_NEXT: dict[tuple[State, Action], State] = {
    (State.PROPOSED, Action.ACCEPT): State.ACCEPTED,
    (State.PROPOSED, Action.DECLINE): State.DECLINED,
    (State.PROPOSED, Action.EXPIRE): State.EXPIRED,
    (State.PROPOSED, Action.END): State.ENDED,
    (State.ACCEPTED, Action.END): State.ENDED,
}
# A proposal can only end because someone left or it was withdrawn, never "completed".
_END_REASONS: dict[State, frozenset[EndReason]] = {
    State.PROPOSED: frozenset({EndReason.MENTOR_LEFT, EndReason.MENTEE_LEFT, EndReason.CANCELLED}),
    State.ACCEPTED: frozenset(EndReason),
}


class LifecycleError(Exception):
    """Base class: the requested change is refused."""


class IllegalTransition(LifecycleError):  # noqa: N818  (name fixed by the design)
    """The action does not apply to the current state (or the end reason does not)."""

    def __init__(self, current_state: State, action: Action, detail: str = "") -> None:
        self.current_state = current_state
        self.action = action
        message = f"cannot {action.value} a mentorship that is {current_state.value}"
        super().__init__(f"{message}: {detail}" if detail else message)


class NotPermitted(LifecycleError):  # noqa: N818  (reads as the domain says it)
    """The action applies, but not by this actor."""

    def __init__(self, action: Action, actor_role: str) -> None:
        self.action = action
        self.actor_role = actor_role
        super().__init__(f"a {actor_role} may not {action.value} this mentorship")


def is_terminal(state: State) -> bool:
    return state in (State.DECLINED, State.EXPIRED, State.ENDED)


def responder(origin: Origin) -> ActorRole:
    """Who accepts or declines a proposal of this origin."""
    return "mentor" if origin == "request" else "mentee"


def transition(
    state: State | str,
    action: Action | str,
    actor_role: ActorRole,
    *,
    origin: Origin = "request",
    reason: EndReason | str | None = None,
) -> State:
    """The state after `action` by `actor_role`; raises `IllegalTransition` / `NotPermitted`."""
    state, action = State(state), Action(action)
    target = _NEXT.get((state, action))
    if target is None:
        raise IllegalTransition(state, action)
    if action in (Action.ACCEPT, Action.DECLINE):
        if actor_role != responder(origin):
            raise NotPermitted(action, actor_role)
    elif action is Action.EXPIRE:
        if actor_role != "system":
            raise NotPermitted(action, actor_role)
    else:
        if reason is None:
            raise IllegalTransition(state, action, "an end reason is required")
        if EndReason(reason) not in _END_REASONS[state]:
            raise IllegalTransition(state, action, f"reason {reason} does not apply")
    return target
