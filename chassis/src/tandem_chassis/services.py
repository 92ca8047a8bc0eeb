"""Where each Tandem process listens: the one table of HTTP ports and local URLs.

Settings classes take their default ``http_port`` from here, the local stack starts each
service on its port, the CLI and the web console default to these URLs; the Compose file,
the Dockerfile and the Kubernetes manifests write them out and a contract test
(``tests/contract/test_deploy_manifests.py``) checks they agree with this table.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["CONSOLE_PORT", "SERVICE_PORTS", "local_url"]

SERVICE_PORTS: Final[Mapping[str, int]] = MappingProxyType(
    {"profiles": 8001, "matching": 8002, "notifications": 8003, "relationships": 8004}
)
CONSOLE_PORT: Final = 8000  # the web console: no data of its own, it calls the services' HTTP APIs


def local_url(name: str) -> str:
    """The service's base URL on this machine (``make run``), e.g. ``http://127.0.0.1:8001``."""
    return f"http://127.0.0.1:{SERVICE_PORTS[name]}"
