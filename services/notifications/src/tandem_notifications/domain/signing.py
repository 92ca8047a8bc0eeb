"""Webhook signatures: ``X-Tandem-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">``."""

import hashlib
import hmac
from typing import Final

__all__ = ["SIGNATURE_HEADER", "sign", "verify"]

SIGNATURE_HEADER: Final = "X-Tandem-Signature"


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify(secret: str, body: bytes, header: str, *, now: int, tolerance_s: int = 300) -> bool:
    """True if ``header`` signs ``body`` with ``secret`` and is not older than ``tolerance_s``."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(parts.get("v1", ""), _mac(secret, timestamp, body))
