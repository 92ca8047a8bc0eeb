"""Kafka topic names. Every topic has a dead-letter twin named ``<topic>.dlq``."""

from typing import Final

__all__ = [
    "ALL_TOPICS",
    "HR_EMPLOYEES",
    "MENTORSHIPS",
    "NOTIFICATIONS",
    "PROFILES",
    "PROGRAMS",
    "RELATIONSHIPS",
    "dlq",
]

HR_EMPLOYEES: Final = "hr.employees"
PROFILES: Final = "tandem.profiles"
MENTORSHIPS: Final = "tandem.mentorships"
PROGRAMS: Final = "tandem.programs"
NOTIFICATIONS: Final = "tandem.notifications"
RELATIONSHIPS: Final = "tandem.relationships"

ALL_TOPICS: Final = (HR_EMPLOYEES, PROFILES, MENTORSHIPS, PROGRAMS, NOTIFICATIONS, RELATIONSHIPS)


def dlq(topic: str) -> str:
    """The dead-letter topic of ``topic``."""
    return f"{topic}.dlq"
