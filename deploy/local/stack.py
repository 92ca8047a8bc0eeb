"""Tandem's local stack, for machines without a Docker engine.

Apache Kafka 4 (KRaft, single node) from the official jars on Maven Central, and FerretDB 1.24
(SQLite backend) built from its Go module — or a ``mongod`` from the PATH if there is one.
Everything it downloads, builds and stores lives in the git-ignored ``.local/`` folder.

    python deploy/local/stack.py start [kafka|store]   provision what is missing, start, create topics
    python deploy/local/stack.py stop [kafka|store]
    python deploy/local/stack.py status
    python deploy/local/stack.py run                   the stack, the four services and the web console
                                                       (TANDEM_REPLICAS=N: N of each, behind a front proxy)
    python deploy/local/stack.py provision browser     Debian's chromium for the console's browser tests
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import front_proxy  # deploy/local/front_proxy.py, beside this script
from tandem_chassis.services import SERVICE_PORTS

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CACHE = ROOT / ".local"  # downloads and builds, shared by every stack on this checkout
LOCAL = Path(os.environ.get("TANDEM_LOCAL_DIR", CACHE))  # this stack's data, logs and pids
LOGS = LOCAL / "logs"
RUN = LOCAL / "run"
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
FERRETDB_VERSION = "v1.24.2"
SERVICES = {name: SERVICE_PORTS[name] for name in ("profiles", "matching", "notifications", "relationships")}
CONSOLE_PORT = 8000  # the web console: no data of its own, it calls the services' HTTP APIs
CHROMIUM = Path("/usr/bin/chromium")
# FerretDB 1.24's SQLite backend indexes `_id` as `_ferretdb_sjson->"_id"` but looks it up with
# `_ferretdb_sjson->'$._id'`: the same value, a different expression, so SQLite never uses the
# index and every find/update/delete by _id scans the whole collection (about 100 ms per update
# at 5,000 documents), and it pushes `_id` down only when it is the filter's sole condition.
# This patch looks `_id` up with the index's expression and also pushes down `{_id, ...}` (our
# version-guarded writes) and `_id: {$in: [...]}`; FerretDB still applies the whole filter to
# what SQLite returns, so only the speed changes. The second patch fixes a deadlock: a bulk write
# of 100 or more updates to one database waited forever for a pooled SQLite connection.
# The third makes conditional writes atomic, as MongoDB's are: update, findAndModify and delete
# read the matching documents and then wrote them outside one transaction, so two replicas'
# version-guarded writes of one aggregate could both match version v and both "win" (the second
# overwriting the first). Each command's read-check-write now runs in one SQLite write transaction
# begun with BEGIN IMMEDIATE, which holds the database's write lock from the read to the commit;
# concurrent writers wait for it. The fourth deletes `_id: {$in: [...]}` by id without reading and
# decoding the documents first. The built binary is keyed on these files' hashes (`build_id`),
# so changing the list or a patch rebuilds FerretDB.
FERRETDB_PATCHES = [
    HERE / "ferretdb" / name
    for name in (
        "sqlite-id-index.patch",
        "update-closes-query.patch",
        "atomic-conditional-writes.patch",
        "delete-by-id.patch",
    )
]


def say(message: str) -> None:
    print(f"[stack] {message}", flush=True)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for(
    check: Callable[[], bool],
    what: str,
    timeout: float,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.25)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise SystemExit(f"[stack] {what} did not come up within {timeout:.0f}s\n{tail}")


def run_checked(command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    say("$ " + " ".join(command))
    subprocess.run(command, cwd=cwd, env=env, check=True)


@dataclass
class Daemon:
    name: str
    port: int

    @property
    def pid_file(self) -> Path:
        return RUN / f"{self.name}.pid"

    @property
    def log(self) -> Path:
        return LOGS / f"{self.name}.log"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None
        return pid

    def running(self) -> bool:
        return port_open(self.port)

    def spawn(self, command: list[str], *, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        LOGS.mkdir(parents=True, exist_ok=True)
        RUN.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )
        self.pid_file.write_text(str(process.pid))
        return process

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            if self.running():
                say(
                    f"{self.name}: port {self.port} is served by a process this stack did not start; "
                    "left alone"
                )
            else:
                say(f"{self.name}: not running")
            return
        say(f"{self.name}: stopping (pid {pid})")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and self.pid() is not None and not _reaped(pid):
            time.sleep(0.25)
        if self.pid() is not None and not _reaped(pid):
            say(f"{self.name}: did not stop in time, killing")
            os.killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)


def _reaped(pid: int) -> bool:
    """True once ``pid`` is gone or a zombie (its work is over)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state == "Z"


class Kafka(Daemon):
    def __init__(self) -> None:
        super().__init__("kafka", int(os.environ.get("TANDEM_LOCAL_KAFKA_PORT", "9092")))
        self.home = LOCAL / "kafka"
        self.libs = CACHE / "kafka" / "libs"
        self.data = self.home / "data"

    def provision(self) -> None:
        marker = self.libs / ".complete"
        pom = HERE / "kafka" / "pom.xml"
        if marker.exists() and marker.read_text() == pom.read_text():
            return
        say("resolving Apache Kafka from Maven Central (first run only)")
        shutil.rmtree(self.libs, ignore_errors=True)
        run_checked(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={self.libs}",
            ]
        )
        marker.write_text(pom.read_text())

    def start(self) -> None:
        if self.running():
            say(f"kafka: already running on 127.0.0.1:{self.port}")
            return
        self.provision()
        self.home.mkdir(parents=True, exist_ok=True)
        config = self.home / "server.properties"
        template = (HERE / "kafka" / "server.properties").read_text()
        config.write_text(template.format(port=self.port, controller_port=self.port + 1, data=self.data))
        java = ["java", "-cp", f"{self.libs}/*"]
        if not (self.data / "meta.properties").exists():
            self.data.mkdir(parents=True, exist_ok=True)
            cluster_id = (
                subprocess.run(
                    [*java, "kafka.tools.StorageTool", "random-uuid"],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            run_checked([*java, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config)])
        heap = os.environ.get("TANDEM_LOCAL_KAFKA_HEAP", "1g")
        command = [
            "java",
            f"-Xmx{heap}",
            f"-Xms{heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={HERE / 'kafka' / 'log4j2.properties'}",
            "-cp",
            f"{self.libs}/*",
            "kafka.Kafka",
            str(config),
        ]
        say(f"kafka: starting on 127.0.0.1:{self.port}")
        process = self.spawn(command)
        wait_for(self.running, "kafka", 90, process, self.log)


class Store(Daemon):
    def __init__(self) -> None:
        super().__init__("store", int(os.environ.get("TANDEM_LOCAL_MONGO_PORT", "27017")))
        self.home = LOCAL / "ferretdb"
        self.binary = CACHE / "bin" / "ferretdb"
        self.mongod = shutil.which("mongod")

    @property
    def build_id(self) -> str:
        return " ".join(
            [
                FERRETDB_VERSION,
                *(hashlib.sha256(patch.read_bytes()).hexdigest() for patch in FERRETDB_PATCHES),
            ]
        )

    def provision(self) -> None:
        marker = self.binary.with_suffix(".build")
        if self.mongod or (self.binary.exists() and marker.exists() and marker.read_text() == self.build_id):
            return
        say(f"building FerretDB {FERRETDB_VERSION} from its Go module (first run only, a few minutes)")
        env = os.environ | {"GOFLAGS": "-mod=mod"}
        info = json.loads(
            subprocess.run(
                ["go", "mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            ).stdout
        )
        source = CACHE / "src" / "ferretdb"
        shutil.rmtree(source, ignore_errors=True)
        shutil.copytree(info["Dir"], source)
        for path in [source, *source.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
        # A module download has no git metadata; FerretDB's own build writes this file from `git describe`.
        (source / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")
        # Inside this checkout's git repository `git apply` would skip (and exit 0) every file of a
        # patch in git's own format, whose paths it takes from the repository's root: keep it out.
        outside_git = os.environ | {"GIT_CEILING_DIRECTORIES": str(source.parent)}
        for patch in FERRETDB_PATCHES:
            run_checked(["git", "apply", "--verbose", str(patch)], cwd=source, env=outside_git)
        self.binary.parent.mkdir(parents=True, exist_ok=True)
        run_checked(
            ["go", "build", "-trimpath", "-o", str(self.binary), "./cmd/ferretdb"], cwd=source, env=env
        )
        marker.write_text(self.build_id)

    def start(self) -> None:
        if self.running():
            say(f"store: already running on 127.0.0.1:{self.port}")
            return
        self.provision()
        self.home.mkdir(parents=True, exist_ok=True)
        if self.mongod:
            (self.home / "mongod").mkdir(exist_ok=True)
            command = [
                self.mongod,
                "--dbpath",
                str(self.home / "mongod"),
                "--bind_ip",
                "127.0.0.1",
                "--port",
                str(self.port),
            ]
            say(f"store: starting mongod on 127.0.0.1:{self.port}")
        else:
            (self.home / "data").mkdir(exist_ok=True)
            command = [
                str(self.binary),
                "--handler=sqlite",
                f"--sqlite-url=file:{self.home / 'data'}/",
                f"--state-dir={self.home}",
                f"--listen-addr=127.0.0.1:{self.port}",
                f"--debug-addr={os.environ.get('TANDEM_LOCAL_STORE_DEBUG_ADDR', '-')}",
                "--telemetry=disable",
                "--log-level=warn",
            ]
            say(f"store: starting FerretDB {FERRETDB_VERSION} (SQLite) on 127.0.0.1:{self.port}")
        process = self.spawn(command)
        wait_for(self.running, "store", 60, process, self.log)


def ensure_topics(port: int) -> None:
    from tandem_chassis.topics import ensure_topics as create

    created = asyncio.run(create(f"127.0.0.1:{port}"))
    say(f"topics: {len(created)} created" if created else "topics: all present")


def daemons(which: str) -> list[Daemon]:
    return {"kafka": [Kafka()], "store": [Store()], "all": [Kafka(), Store()]}[which]


def start(which: str) -> list[Daemon]:
    """Start what is not running yet; returns the daemons this call started."""
    started = []
    for daemon in daemons(which):
        if not daemon.running():
            started.append(daemon)
        daemon.start()  # type: ignore[attr-defined]
    if which in ("kafka", "all"):
        ensure_topics(Kafka().port)
    return started


def stop(which: str) -> None:
    for daemon in reversed(daemons(which)):
        daemon.stop()


def status() -> int:
    up = True
    for daemon in daemons("all"):
        running = daemon.running()
        up &= running
        say(
            f"{daemon.name}: {'up' if running else 'down'} on 127.0.0.1:{daemon.port} "
            f"(pid {daemon.pid()}, log {daemon.log})"
        )
    for name, port in {**SERVICES, "console": CONSOLE_PORT}.items():
        say(f"{name}: {'up' if port_open(port) else 'down'} on http://127.0.0.1:{port}")
    return 0 if up else 1


def provision_browser() -> Path:
    """Debian's chromium for the browser tests (Playwright's own downloads do not work here).

    ``apt-get install`` first; only if that fails (a fresh machine's empty package lists)
    ``apt-get update`` and once more.
    """
    if CHROMIUM.exists():
        return CHROMIUM
    if shutil.which("apt-get") is None:
        raise SystemExit(f"[stack] {CHROMIUM} is missing and there is no apt-get: install chromium yourself")
    if os.geteuid() != 0:
        raise SystemExit(f"[stack] {CHROMIUM} is missing: run `apt-get install -y chromium` as root")
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    say("installing chromium with apt-get (first run only)")
    if subprocess.run(install, env=env).returncode != 0:
        run_checked(["apt-get", "update"], env=env)
        run_checked(install, env=env)
    if not CHROMIUM.exists():
        raise SystemExit(f"[stack] apt-get installed chromium, but {CHROMIUM} is still missing")
    return CHROMIUM


def dev_jwt_secret() -> str:
    """This checkout's HS256 secret for dev tokens, made once and kept in the git-ignored .local/."""
    path = CACHE / "dev-jwt-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def run_platform() -> int:
    """The stack and the four services in the foreground; Ctrl-C stops all that it started."""
    started = start("all")
    env = os.environ.copy()
    if env.get("TANDEM_ENV", "dev") == "dev" and not env.get("TANDEM_JWT_SECRET"):
        env["TANDEM_JWT_SECRET"] = dev_jwt_secret()
    children = {}
    if not env.get("TANDEM_SMTP_HOST"):
        # A local mail sink so the platform's emails land somewhere you can read: .local/mail.
        sink_port = env.get("TANDEM_LOCAL_SMTP_PORT", "1025")
        env |= {"TANDEM_SMTP_HOST": "127.0.0.1", "TANDEM_SMTP_PORT": sink_port}
        for folder in ("tmp", "new", "cur"):  # a Maildir
            (CACHE / "mail" / folder).mkdir(parents=True, exist_ok=True)
        children["mail sink"] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                f"127.0.0.1:{sink_port}",
                "-c",
                "aiosmtpd.handlers.Mailbox",
                str(CACHE / "mail"),
            ],
        )
    ports = {name: int(env.get(f"TANDEM_{name.upper()}_HTTP_PORT", port)) for name, port in SERVICES.items()}
    ports["console"] = int(env.get("TANDEM_CONSOLE_HTTP_PORT", CONSOLE_PORT))
    # The links in the notifications' emails open the console.
    env.setdefault("TANDEM_APP_URL", f"http://127.0.0.1:{ports['console']}")
    replicas = int(env.get("TANDEM_REPLICAS", "1"))
    listening = start_services(env, ports, replicas, children)
    service_urls = {f"TANDEM_{name.upper()}_URL": f"http://127.0.0.1:{ports[name]}" for name in SERVICES}
    children["console"] = subprocess.Popen(
        [sys.executable, "-m", "tandem_console"],
        env=env | service_urls | {"TANDEM_HTTP_PORT": str(ports["console"])},
    )
    listening["console"] = (ports["console"], children["console"])
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    try:
        for name, (port, child) in listening.items():
            wait_for(lambda port=port: port_open(port) or stopping, name, 180, child)
    except SystemExit as failed:  # one did not come up: stop the others rather than orphan them
        print(failed, flush=True)
        return _stop_run(children, started, exit_code=1)
    print("\nTandem is up:")
    for name in SERVICES:
        print(
            f"  {name:<14} http://127.0.0.1:{ports[name]}   "
            "(docs: /docs, health: /health/ready, metrics: /metrics)"
        )
        if replicas > 1:
            each = ", ".join(str(port) for port in front_proxy.replica_ports(ports[name], replicas))
            print(f"  {'':<14} spread over {replicas} replicas on ports {each}")
    sign_in = "/dev/login" if env.get("TANDEM_ENV", "dev") == "dev" else "/signin"
    print(f"  {'console':<14} http://127.0.0.1:{ports['console']}   (web console; sign in: {sign_in})")
    print(f"  kafka          127.0.0.1:{Kafka().port}\n  store          mongodb://127.0.0.1:{Store().port}")
    if "mail sink" in children:
        print(f"  mail sink      smtp://127.0.0.1:{env['TANDEM_SMTP_PORT']} -> maildir {CACHE / 'mail'}")
    if "TANDEM_JWT_SECRET" in env and env.get("TANDEM_ENV", "dev") == "dev":
        print(
            f"  dev tokens     HS256 with the secret in {CACHE / 'dev-jwt-secret'} "
            "(unless TANDEM_JWT_SECRET is set)"
        )
    print("Press Ctrl-C to stop.\n", flush=True)
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                say(f"{name} exited with {child.returncode}; stopping everything")
                exit_code, stopping = 1, True
        time.sleep(0.5)
    return _stop_run(children, started, exit_code=exit_code)


def start_services(
    env: dict[str, str], ports: dict[str, int], replicas: int, children: dict[str, subprocess.Popen[bytes]]
) -> dict[str, tuple[int, subprocess.Popen[bytes]]]:
    """Start ``replicas`` processes of each service (and, for several, the front proxy) into
    ``children``; returns what listens where: name -> (HTTP port, process)."""
    if replicas < 1:
        raise SystemExit(f"[stack] TANDEM_REPLICAS must be 1 or more, not {replicas}")
    listening = {}
    fronts = {}
    for name in SERVICES:
        fronts[ports[name]] = front_proxy.replica_ports(ports[name], replicas)
        for number, port in enumerate(fronts[ports[name]], start=1):
            child = name if replicas == 1 else f"{name} #{number}"
            env_one = env | {"TANDEM_HTTP_PORT": str(port)}
            children[child] = subprocess.Popen([sys.executable, "-m", f"tandem_{name}"], env=env_one)
            listening[child] = (port, children[child])
    if replicas > 1:
        proxy = children["front proxy"] = front_proxy.start(fronts, LOCAL / "caddy", LOGS / "caddy.log")
        listening |= {f"{name} (front port)": (ports[name], proxy) for name in SERVICES}
    return listening


def _stop_run(children: dict[str, subprocess.Popen[bytes]], started: list[Daemon], *, exit_code: int) -> int:
    """Stop the processes ``run`` started (services first, then the daemons it started)."""
    say("stopping the services")
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
    for daemon in reversed(started):
        daemon.stop()
    return exit_code


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["provision", "start", "stop", "status", "run"])
    parser.add_argument("component", nargs="?", default="all", choices=["all", "kafka", "store", "browser"])
    args = parser.parse_args()
    if args.component == "browser":
        if args.command != "provision":
            parser.error("the browser can only be provisioned")
        say(f"browser: {provision_browser()}")
        return 0
    if args.command == "provision":
        for daemon in daemons(args.component):
            daemon.provision()  # type: ignore[attr-defined]
        return 0
    if args.command == "start":
        start(args.component)
        return 0
    if args.command == "stop":
        stop(args.component)
        return 0
    if args.command == "status":
        return status()
    return run_platform()


if __name__ == "__main__":
    raise SystemExit(main())
