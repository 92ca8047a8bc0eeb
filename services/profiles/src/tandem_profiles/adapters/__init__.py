"""The service's MongoDB adapters; a raw document never leaves this package."""

from typing import Any

__all__ = ["Document"]

Document = dict[str, Any]
