"""Skill names, normalised so that "Python", "python " and "py" are one skill."""

import re
from typing import Final

__all__ = ["SYNONYMS", "normalise_skill"]

SYNONYMS: Final[dict[str, str]] = {
    "py": "python",
    "python3": "python",
    "js": "javascript",
    "ecmascript": "javascript",
    "ts": "typescript",
    "golang": "go",
    "k8s": "kubernetes",
    "ml": "machine learning",
    "ai": "artificial intelligence",
    "pm": "product management",
    "ux": "user experience",
    "ui": "user interface",
    "db": "databases",
    "sql server": "mssql",
    "postgres": "postgresql",
    "apache kafka": "kafka",
    "c sharp": "c#",
    "csharp": "c#",
    "cpp": "c++",
    "public speaking": "presentation skills",
    "people management": "leadership",
}
_SPACES = re.compile(r"\s+")


def normalise_skill(name: str) -> str:
    """Lower case, single spaces, synonyms folded into one canonical name."""
    cleaned = _SPACES.sub(" ", name.strip().lower())
    return SYNONYMS.get(cleaned, cleaned)
