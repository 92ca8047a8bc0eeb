from __future__ import annotations

import pytest
from tandem_matching.domain.lifecycle import (
    IllegalTransition,
    NotPermitted,
    State,
    is_terminal,
    transition,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("state", "action", "actor", "origin", "reason", "expected"),
    [
        ("proposed", "accept", "mentor", "request", None, State.ACCEPTED),
        ("proposed", "decline", "mentor", "request", None, State.DECLINED),
        ("proposed", "accept", "mentee", "round", None, State.ACCEPTED),
        ("proposed", "decline", "mentee", "reproposal", None, State.DECLINED),
        ("proposed", "expire", "system", "request", None, State.EXPIRED),
        ("proposed", "end", "system", "round", "mentor_left", State.ENDED),
        ("proposed", "end", "mentee", "request", "cancelled", State.ENDED),
        ("proposed", "end", "system", "request", "mentee_left", State.ENDED),
        ("accepted", "end", "mentor", "request", "completed", State.ENDED),
        ("accepted", "end", "mentee", "round", "cancelled", State.ENDED),
        ("accepted", "end", "system", "round", "mentor_left", State.ENDED),
        ("accepted", "end", "system", "round", "mentee_left", State.ENDED),
    ],
)
def test_legal_transitions_reach_the_next_state(state, action, actor, origin, reason, expected):
    assert transition(state, action, actor, origin=origin, reason=reason) is expected


@pytest.mark.parametrize(
    ("state", "action", "reason"),
    [
        ("accepted", "accept", None),
        ("accepted", "decline", None),
        ("accepted", "expire", None),
        ("proposed", "end", "completed"),  # a proposal is never "completed"
        ("proposed", "end", None),  # an end needs a reason
        ("accepted", "end", None),
        *[
            (s, a, "cancelled")
            for s in ("declined", "expired", "ended")
            for a in ("accept", "decline", "expire", "end")
        ],
    ],
)
def test_illegal_transitions_raise(state, action, reason):
    actor = "system" if action in ("expire", "end") else "mentor"
    with pytest.raises(IllegalTransition) as err:
        transition(state, action, actor, origin="request", reason=reason)
    assert err.value.current_state == State(state)
    assert err.value.action.value == action


@pytest.mark.parametrize(
    ("action", "actor", "origin"),
    [
        ("accept", "mentee", "request"),  # the mentor answers a mentee's request
        ("decline", "mentee", "request"),
        ("accept", "mentor", "round"),  # the mentee answers a system proposal
        ("decline", "mentor", "reproposal"),
        ("accept", "system", "round"),
        ("expire", "mentor", "request"),  # only the system expires
    ],
)
def test_only_the_responder_may_answer_a_proposal(action, actor, origin):
    with pytest.raises(NotPermitted):
        transition("proposed", action, actor, origin=origin)


def test_declined_expired_and_ended_are_terminal():
    assert [s for s in State if is_terminal(s)] == [State.DECLINED, State.EXPIRED, State.ENDED]
