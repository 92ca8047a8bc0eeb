"""Topic set-up, importable without the rest of the chassis (used by deploy/local/stack.py)."""

from tandem_chassis.kafka import ensure_topics

__all__ = ["ensure_topics"]
