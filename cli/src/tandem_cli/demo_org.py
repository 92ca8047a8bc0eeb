"""A realistic, generated organisation for the demo: pure and deterministic given a seed.

``generate_organisation`` builds a management tree (a CEO, department heads, managers and
individual contributors, levels 1-8) as ``hr.employee.joined`` data, managers always before
their reports; ``mentoring_profiles`` picks about 30% mentors (skills, capacity 1-4) and about
50% mentees (goals), with skills from one normalised vocabulary.
"""

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

from tandem_contracts import EmployeeJoined

__all__ = [
    "DEPARTMENTS",
    "OFFICES",
    "SKILLS",
    "Office",
    "generate_organisation",
    "mentoring_profiles",
]


@dataclass(frozen=True, slots=True)
class Office:
    location: str
    timezone: str
    languages: tuple[str, ...]  # ISO 639-1, besides English


OFFICES: Final = (
    Office("Berlin", "Europe/Berlin", ("de",)),
    Office("London", "Europe/London", ()),
    Office("Paris", "Europe/Paris", ("fr",)),
    Office("Madrid", "Europe/Madrid", ("es",)),
    Office("New York", "America/New_York", ("es",)),
    Office("San Francisco", "America/Los_Angeles", ("es", "zh")),
    Office("Toronto", "America/Toronto", ("fr",)),
    Office("São Paulo", "America/Sao_Paulo", ("pt",)),
    Office("Bangalore", "Asia/Kolkata", ("hi",)),
    Office("Singapore", "Asia/Singapore", ("zh", "ms")),
    Office("Tokyo", "Asia/Tokyo", ("ja",)),
    Office("Sydney", "Australia/Sydney", ()),
)

GENERAL_SKILLS: Final = (
    "leadership",
    "coaching",
    "presentation skills",
    "stakeholder management",
    "project management",
    "writing",
    "negotiation",
    "conflict resolution",
)

# department -> (weight, job title of an individual contributor, its skills)
DEPARTMENTS: Final[dict[str, tuple[int, str, tuple[str, ...]]]] = {
    "Engineering": (
        30,
        "Software Engineer",
        (
            "python",
            "javascript",
            "typescript",
            "go",
            "java",
            "kubernetes",
            "kafka",
            "postgresql",
            "system design",
            "distributed systems",
            "security",
            "testing",
        ),
    ),
    "Data": (
        10,
        "Data Scientist",
        (
            "python",
            "machine learning",
            "statistics",
            "data analysis",
            "databases",
            "data visualisation",
        ),
    ),
    "Product": (
        8,
        "Product Manager",
        (
            "product management",
            "product discovery",
            "roadmapping",
            "user research",
            "data analysis",
        ),
    ),
    "Design": (
        6,
        "Product Designer",
        (
            "user experience",
            "user interface",
            "user research",
            "prototyping",
        ),
    ),
    "Sales": (
        14,
        "Account Executive",
        (
            "sales strategy",
            "account management",
            "customer empathy",
            "forecasting",
        ),
    ),
    "Marketing": (
        9,
        "Marketing Manager",
        (
            "content strategy",
            "marketing analytics",
            "brand strategy",
            "seo",
        ),
    ),
    "Customer Success": (
        10,
        "Customer Success Manager",
        (
            "customer empathy",
            "account management",
            "onboarding",
            "support operations",
        ),
    ),
    "Finance": (
        6,
        "Financial Analyst",
        (
            "financial modelling",
            "budgeting",
            "forecasting",
            "accounting",
        ),
    ),
    "People": (
        4,
        "People Partner",
        (
            "recruiting",
            "employee relations",
            "compensation",
            "onboarding",
        ),
    ),
    "Operations": (
        3,
        "Operations Analyst",
        (
            "process improvement",
            "vendor management",
            "budgeting",
            "data analysis",
        ),
    ),
}

SKILLS: Final = tuple(
    sorted({*GENERAL_SKILLS, *(s for _, _, skills in DEPARTMENTS.values() for s in skills)})
)

INTERESTS: Final = (
    "career growth",
    "open source",
    "public speaking",
    "remote work",
    "parenting",
    "running",
    "chess",
    "photography",
    "cooking",
    "climate",
    "music",
    "books",
)

FIRST_NAMES: Final = (
    "Ada",
    "Alan",
    "Amara",
    "Ana",
    "Arjun",
    "Beatriz",
    "Chen",
    "Chloé",
    "Daniel",
    "Dara",
    "Elena",
    "Emeka",
    "Fatima",
    "Felix",
    "Grace",
    "Hana",
    "Hugo",
    "Ines",
    "Ivan",
    "Jamal",
    "Jonas",
    "Kai",
    "Keiko",
    "Lars",
    "Leila",
    "Lucas",
    "Maya",
    "Mei",
    "Nadia",
    "Noah",
    "Olga",
    "Omar",
    "Priya",
    "Rafael",
    "Sara",
    "Sofia",
    "Tariq",
    "Tomás",
    "Yuki",
    "Zoe",
)
LAST_NAMES: Final = (
    "Adeyemi",
    "Andersson",
    "Bauer",
    "Chen",
    "Costa",
    "Dubois",
    "Fernández",
    "García",
    "Hoffmann",
    "Ito",
    "Jensen",
    "Kapoor",
    "Kim",
    "Kowalski",
    "Lopez",
    "Martin",
    "Müller",
    "Nakamura",
    "Novak",
    "Okafor",
    "Patel",
    "Rossi",
    "Santos",
    "Schmidt",
    "Silva",
    "Singh",
    "Smith",
    "Tanaka",
    "Taylor",
    "Wang",
    "Weber",
    "Williams",
    "Yilmaz",
    "Zhang",
)

MAX_REPORTS: Final = 7


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _title(department: str, level: int, manages: bool) -> str:
    if level == 8:
        return "Chief Executive Officer"
    if level == 7:
        return f"VP {department}"
    if manages and level >= 5:
        return f"{department} Manager" if level == 5 else f"Director, {department}"
    ic = DEPARTMENTS[department][1]
    prefix = {1: "Junior ", 2: "", 3: "", 4: "Senior ", 5: "Staff ", 6: "Principal "}[level]
    return f"{prefix}{ic}"


@dataclass(slots=True)
class _Person:
    employee_id: str
    department: str
    level: int
    manager_id: str | None
    reports: int = 0


def _tree(size: int, rng: random.Random) -> list[_Person]:
    """A CEO, one head per department (while there is room), then everyone else below them."""
    people = [_Person("e-0001", "Executive", 8, None)]
    departments = list(DEPARTMENTS)
    weights = [DEPARTMENTS[name][0] for name in departments]
    managers: dict[str, list[_Person]] = {}
    for name in departments[: max(0, size - 1)]:
        head = _Person(f"e-{len(people) + 1:04d}", name, 7, "e-0001")
        people[0].reports += 1
        people.append(head)
        managers[name] = [head]
    while len(people) < size:
        department = rng.choices(departments, weights)[0]
        if department not in managers:  # a tiny organisation: not every department has a head
            department = rng.choice(list(managers))
        open_managers = [m for m in managers[department] if m.reports < MAX_REPORTS]
        boss = rng.choice(open_managers or managers[department])
        level = max(1, boss.level - rng.choice((1, 1, 2, 2, 3)))
        person = _Person(f"e-{len(people) + 1:04d}", department, level, boss.employee_id)
        boss.reports += 1
        people.append(person)
        if level >= 4:
            managers[department].append(person)
    return people


def generate_organisation(size: int = 300, *, seed: int = 7) -> list[EmployeeJoined]:
    """``size`` employees as ``hr.employee.joined`` data; managers come before their reports."""
    if size < 1:
        raise ValueError("an organisation needs at least one employee")
    rng = random.Random(seed)
    people = _tree(size, rng)
    managing = {p.manager_id for p in people if p.manager_id}
    used: set[str] = set()
    joined = []
    for person in people:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        handle = f"{_ascii(first)}.{_ascii(last)}"
        if handle in used:  # a namesake: the employee number keeps the address unique
            handle = f"{handle}.{int(person.employee_id[2:])}"
        used.add(handle)
        office = rng.choice(OFFICES)
        extra = [lang for lang in office.languages if rng.random() < 0.8]
        if rng.random() < 0.15:
            extra.append(rng.choice(("fr", "de", "es", "it", "pt", "nl", "pl", "ar")))
        joined.append(
            EmployeeJoined(
                employee_id=person.employee_id,
                email=f"{handle}@tandem.example",
                display_name=f"{first} {last}",
                department=person.department,
                job_title=_title(person.department, person.level, person.employee_id in managing),
                level=person.level,
                manager_id=person.manager_id,
                location=office.location,
                timezone=office.timezone,
                languages=list(dict.fromkeys(["en", *extra])),
                start_date=date(2012, 1, 9) + timedelta(days=rng.randrange(0, 13 * 365)),
            )
        )
    return joined


def _skills_of(department: str | None) -> tuple[str, ...]:
    own = DEPARTMENTS[department][2] if department in DEPARTMENTS else ()
    return (*own, *GENERAL_SKILLS)


def mentoring_profiles(
    organisation: list[EmployeeJoined], *, seed: int = 7, mentors: float = 0.3, mentees: float = 0.5
) -> dict[str, dict[str, Any]]:
    """``PATCH /v1/profiles/{id}`` bodies: senior people mostly mentor, junior people learn."""
    rng = random.Random(seed * 7919 + len(organisation))
    seniority = sorted(organisation, key=lambda e: (e.level or 1) + rng.random() * 3, reverse=True)
    mentor_count = round(len(organisation) * mentors)
    mentor_ids = {e.employee_id for e in seniority[:mentor_count]}
    rest = [e for e in reversed(seniority) if e.employee_id not in mentor_ids]
    mentee_ids = {e.employee_id for e in rest[: round(len(organisation) * mentees)]}
    profiles: dict[str, dict[str, Any]] = {}
    for employee in organisation:
        pool = _skills_of(employee.department)
        if employee.employee_id in mentor_ids:
            own = rng.sample(pool, k=min(len(pool), rng.randint(3, 6)))
            profiles[employee.employee_id] = {
                "roles": ["mentor"],
                "skills": [{"name": s, "level": rng.randint(3, 5)} for s in own],
                "mentor_capacity": rng.randint(1, 4),
                "availability_hours_per_month": rng.choice((2, 4, 6, 8)),
                "interests": rng.sample(INTERESTS, k=2),
                "bio": f"{employee.job_title} in {employee.department}, happy to help.",
            }
        elif employee.employee_id in mentee_ids:
            goals = rng.sample(pool, k=rng.randint(1, 3))
            profiles[employee.employee_id] = {
                "roles": ["mentee"],
                "goals": [{"name": s, "level": rng.randint(2, 4)} for s in goals],
                "interests": rng.sample(INTERESTS, k=2),
                "preferences": {"department": rng.choice(("any", "any", "same", "other"))},
            }
    return profiles
