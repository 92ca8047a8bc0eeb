"""Mongo repositories and the contract mapping: raw documents stay in this package."""

from typing import Any

__all__ = ["Document"]

Document = dict[str, Any]  # a raw MongoDB document
