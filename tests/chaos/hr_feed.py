"""A seeded, realistic and messy HR feed for the chaos test, and what a fault-free run makes of it.

The organisation comes from the demo generator (a management tree, offices, languages). The feed
mixes joins, updates, leaves, re-hires, re-sent duplicates, stale (late) updates, updates that
arrive before their join and leaves that arrive before theirs. Everything here is pure.
"""

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tandem_cli.demo_org import DEPARTMENTS, INTERESTS, OFFICES, SKILLS, generate_organisation
from tandem_contracts import CloudEvent, EmployeeJoined, EmployeeLeft, EmployeeUpdated, new_event, parse_data
from tandem_profiles.domain.profile import Profile, apply_hr_event

__all__ = ["Feed", "Pairing", "build_feed", "fold", "pairings"]

SOURCE = "/hr/chaos"
STEP = timedelta(seconds=10)  # HR time between two consecutive events of the feed


@dataclass(frozen=True)
class Pairing:
    """A mentorship the test drives over HTTP, and the state it drives it to."""

    mentee_id: str
    mentor_id: str
    outcome: str  # "proposed", "accepted", "declined" or "ended"


@dataclass
class Feed:
    events: list[CloudEvent]  # in publish order; duplicates are the same event again
    leave_gates: dict[int, str] = field(default_factory=dict)  # position -> employee who leaves there
    mentors: list[str] = field(default_factory=list)
    mentees: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)


def _update(
    rng: random.Random, employee_id: str, n: int, *, participant: bool, managers: list[str]
) -> EmployeeUpdated:
    office = rng.choice(OFFICES)
    choices: list[dict[str, object]] = [
        {"job_title": f"Title {n}"},
        {"level": rng.randint(1, 8)},
        {"location": office.location, "timezone": office.timezone},
        {"department": rng.choice(list(DEPARTMENTS))},
        {"display_name": f"Renamed {n}"},
    ]
    if not participant:  # the hard constraints of a requested pair stay true for participants
        choices += [{"manager_id": rng.choice(managers)}, {"languages": ["en", "fr"]}]
    return EmployeeUpdated.model_validate({"employee_id": employee_id} | rng.choice(choices))


def build_feed(*, employees: int, total: int, mentors: int, mentees: int, t0: datetime, seed: int) -> Feed:
    """``total`` HR events over ``employees`` people, plus the HTTP participants among them.

    Leaves only ever hit non-participants who joined long before (``leave_gates`` lets the
    publisher hold a leave until that person's welcome emails are out: a deactivation cancels
    pending emails, so an earlier leave would make the expected emails depend on timing).
    """
    rng = random.Random(seed)
    org = generate_organisation(employees, seed=seed)
    early = org[1 : employees // 3]  # joined in the first part of the stream
    senior = [e for e in early if (e.level or 1) >= 4 and e.department != "Executive"]
    junior = [e for e in early if (e.level or 1) <= 4 and e.department != "Executive"]
    mentor_ids = [e.employee_id for e in rng.sample(senior, mentors)]
    mentee_ids = [
        e.employee_id for e in rng.sample([e for e in junior if e.employee_id not in mentor_ids], mentees)
    ]
    participants = set(mentor_ids) | set(mentee_ids)
    managers = [e.employee_id for e in org[:80] if e.employee_id not in participants]

    feed = Feed(events=[], mentors=mentor_ids, mentees=mentee_ids)
    to_join = list(org)
    stray = [f"x-{i:03d}" for i in range(20)]  # leave before join arrives: never active
    joined_at: dict[str, int] = {}
    left: dict[str, int] = {}
    rehired: set[str] = set()
    join_horizon = int(total * 0.6)

    def emit(
        data: EmployeeJoined | EmployeeUpdated | EmployeeLeft, kind: str, *, at: int | None = None
    ) -> None:
        n = len(feed.events)
        time = t0 + STEP * (n if at is None else at)
        feed.events.append(new_event(data, source=SOURCE, event_id=f"hr-{n:05d}", time=time))
        feed.kinds[kind] += 1

    while len(feed.events) < total:
        n = len(feed.events)
        roll = rng.random()
        if to_join and rng.random() < len(to_join) / max(1, join_horizon - n):
            person = to_join.pop(0)
            if person.employee_id not in participants and rng.random() < 0.03:
                # an update that overtakes its join: later in HR time, earlier on the wire
                emit(
                    _update(rng, person.employee_id, n, participant=False, managers=managers),
                    "update before join",
                    at=n + 2,
                )
            joined_at[person.employee_id] = len(feed.events)
            emit(person, "join")
        elif stray and roll < 0.01:
            who = stray.pop()
            emit(EmployeeLeft(employee_id=who), "leave before join", at=n + 1)
            emit(
                EmployeeJoined(employee_id=who, email=f"{who}@tandem.example", display_name=who), "join", at=n
            )
        elif roll < 0.10 and n > 10:
            feed.events.append(feed.events[rng.randrange(n)])
            feed.kinds["duplicate"] += 1
        elif roll < 0.17:
            candidates = [
                e
                for e, at in joined_at.items()
                if n - at > 400 and e not in left and e not in participants and not e.startswith("x-")
            ]
            if candidates:
                who = rng.choice(candidates)
                left[who] = n
                feed.leave_gates[n] = who
                emit(EmployeeLeft(employee_id=who), "leave")
        elif roll < 0.21:
            candidates = [e for e, at in left.items() if n - at > 150 and e not in rehired]
            if candidates:
                who = rng.choice(candidates)
                rehired.add(who)
                office = rng.choice(OFFICES)
                emit(
                    EmployeeJoined(
                        employee_id=who,
                        email=f"{who}.rehired@tandem.example",
                        display_name=f"Rehired {who}",
                        department=rng.choice(list(DEPARTMENTS)),
                        location=office.location,
                        timezone=office.timezone,
                        languages=["en", *office.languages],
                    ),
                    "rehire",
                )
        elif joined_at:
            who = rng.choice(list(joined_at))
            stale = rng.random() < 0.1  # a late update, older than what is already there
            emit(
                _update(rng, who, n, participant=who in participants, managers=managers),
                "stale update" if stale else "update",
                at=max(joined_at[who] + 1, n - 40) if stale else None,
            )
    return feed


def fold(events: list[CloudEvent]) -> tuple[dict[str, Profile], Counter[str]]:
    """The pure domain's profiles after ``events`` in arrival order, and registrations per employee.

    Duplicates change nothing; the final profiles do not depend on the order, but how many
    times someone is *registered* does (a leave that overtakes its join means never active).
    """
    profiles: dict[str, Profile] = {}
    registered: Counter[str] = Counter()
    for event in {e.id: e for e in events}.values():
        data = parse_data(event)
        change = apply_hr_event(profiles.get(data.employee_id), data, time=event.time, event_id=event.id)
        profiles[data.employee_id] = change.profile
        if change.event == "registered":
            registered[data.employee_id] += 1
    return profiles, registered


def pairings(feed: Feed, *, seed: int, org_departments: dict[str, str]) -> list[Pairing]:
    """Each mentee asks one mentor of another department (never in one reporting line)."""
    rng = random.Random(seed + 1)
    load: Counter[str] = Counter()
    result = []
    outcomes = ["accepted"] * 6 + ["declined"] * 2 + ["proposed"] * 1 + ["ended"] * 1
    for mentee in feed.mentees:
        options = [m for m in feed.mentors if org_departments[m] != org_departments[mentee] and load[m] < 2]
        mentor = rng.choice(options)
        load[mentor] += 1
        result.append(Pairing(mentee, mentor, outcomes[len(result) % len(outcomes)]))
    return result


def mentor_patch(rng: random.Random) -> dict[str, object]:
    return {
        "roles": ["mentor"],
        "skills": [{"name": s, "level": rng.randint(3, 5)} for s in rng.sample(SKILLS, 4)],
        "mentor_capacity": 3,
        "interests": rng.sample(INTERESTS, 2),
    }


def mentee_patch(rng: random.Random) -> dict[str, object]:
    return {
        "roles": ["mentee"],
        "goals": [{"name": s, "level": rng.randint(2, 4)} for s in rng.sample(SKILLS, 2)],
        "interests": rng.sample(INTERESTS, 2),
    }
