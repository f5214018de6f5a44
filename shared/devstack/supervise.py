"""The local stack under supervisord: one list of processes, a generated config, one combined log view.

`python -m shared.devstack run` (what `make run` calls) writes `<run dir>/supervisord.conf` from
`programs()`, starts supervisord in the foreground, prints every program's output with its name in
front, prints where each service listens once web *and* workers are ready, and on Ctrl-C / SIGTERM
lets supervisord stop everything (applications first, Kafka and mongod last) and exits 0.

supervisord restarts a program that exits (a crash, `kill -9`) and logs it ("exited: … not expected",
"spawned: …"); one that dies again within `startsecs` is retried with a growing delay (its BACKOFF
state). An application dying never stops the data services: each program is supervised on its own.
Tests and `bench/chaos.py` run the same stack on free ports in a temp directory (`Layout.free`).
"""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import paths
from shared.config import WEB_ENV  # web-process settings per service (docker/render.py uses them too)
from shared.worker import worker_roles

from .ports import free_port

# The one table of fixed ports (docs/architecture.md), kept where the gateway's upstreams read it; the local
# stack runs the services that have code.
from services.gateway.upstreams import SERVICE_PORTS as _ALL_PORTS  # noqa: E402
SERVICE_PORTS = {name: port for name, port in _ALL_PORTS.items()
                 if (paths.ROOT / "services" / name / "app.py").exists()}
# Start order (supervisord priority, lower first) and the reverse stop order: data before applications.
PRIORITY = {"data": 10, "web": 100, "workers": 200}


@dataclass(frozen=True)
class Layout:
    """Where one stack lives: its data and run directories and its ports."""

    data_dir: Path = paths.DATA
    run_dir: Path = paths.LOCAL / "run"
    kafka_port: int = 9092
    controller_port: int = 9093
    mongo_port: int = 27017
    service_ports: dict = field(default_factory=lambda: dict(SERVICE_PORTS))
    services: tuple = tuple(SERVICE_PORTS)
    env: dict = field(default_factory=dict)  # extra environment for every application program

    @classmethod
    def free(cls, base: Path, services: tuple = tuple(SERVICE_PORTS), **changes) -> "Layout":
        """A layout under `base` on ports the OS found free (a private stack next to a developer's own)."""
        base = Path(base)
        return cls(data_dir=base / "data", run_dir=base / "run", kafka_port=free_port(),
                   controller_port=free_port(), mongo_port=free_port(),
                   service_ports={name: free_port() for name in SERVICE_PORTS}, services=tuple(services),
                   **changes)

    def with_(self, **changes) -> "Layout":
        """A copy with some fields changed."""
        return replace(self, **changes)

    @property
    def kafka_bootstrap(self) -> str:
        """bootstrap.servers of this stack's broker."""
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def mongo_url(self) -> str:
        """Replica-set connection string of this stack's mongod."""
        return f"mongodb://127.0.0.1:{self.mongo_port}/?replicaSet=rs0"

    def url(self, service: str) -> str:
        """Base URL of a web service."""
        return f"http://127.0.0.1:{self.service_ports[service]}"

    @property
    def conf_path(self) -> Path:
        """The generated supervisord configuration."""
        return self.run_dir / "supervisord.conf"

    @property
    def socket_path(self) -> Path:
        """supervisord's control socket (supervisorctl talks to it)."""
        return self.run_dir / "supervisor.sock"

    @property
    def log_dir(self) -> Path:
        """One log file per program, plus supervisord.log."""
        return self.run_dir / "logs"

    def app_env(self) -> dict[str, str]:
        """Environment of every application process: where Kafka, MongoDB and the other services are."""
        env = {"MONGO_URL": self.mongo_url, "KAFKA_BOOTSTRAP": self.kafka_bootstrap, "PYTHONUNBUFFERED": "1"}
        env.update({f"GATEWAY_{name.upper()}_URL": self.url(name) for name in self.service_ports if name != "gateway"})
        env.update(self.env)
        return env


@dataclass(frozen=True)
class Program:
    """One supervised process."""

    name: str
    argv: tuple
    kind: str  # data | web | workers
    env: dict = field(default_factory=dict)
    service: str | None = None
    roles: tuple = ()
    stop_wait: int = 30

    @property
    def priority(self) -> int:
        """supervisord priority: data services start first and stop last."""
        return PRIORITY[self.kind]


def programs(layout: Layout) -> list[Program]:
    """Every process of the stack, in start order: the one list `make run`, tests and chaos share."""
    py = sys.executable
    data_env = {"DEVSTACK_DATA": str(layout.data_dir), "PYTHONUNBUFFERED": "1"}
    found = [
        Program("kafka", (py, "-m", "shared.devstack", "kafka"), "data", stop_wait=70, env={
            **data_env, "KAFKA_PORT": str(layout.kafka_port), "KAFKA_CONTROLLER_PORT": str(layout.controller_port)}),
        Program("mongod", (py, "-m", "shared.devstack", "mongod"), "data", stop_wait=40, env={
            **data_env, "MONGO_PORT": str(layout.mongo_port)}),
    ]
    app_env = layout.app_env()
    for service in layout.services:
        env = dict(app_env)
        env.update(WEB_ENV.get(service, {}), BIND=f"127.0.0.1:{layout.service_ports[service]}")
        found.append(Program(service, (py, "-m", "shared.webserver", service), "web", env=env, service=service))
    for service in layout.services:
        roles = worker_roles(service)
        if roles:
            found.append(Program(f"{service}-workers", (py, "-m", "shared.worker", service, *roles), "workers",
                                 env=dict(app_env), service=service, roles=roles))
    return found


def _quote_env(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%") + '"'


def render_config(layout: Layout, progs: list[Program] | None = None) -> str:
    """supervisord.conf for `layout` (every program restarted when it exits, logs per program)."""
    progs = programs(layout) if progs is None else progs
    lines = [
        "; Generated by shared/devstack/supervise.py on every `make run`; edit programs() there, not this file.",
        "[supervisord]",
        "nodaemon=true",
        f"logfile={layout.log_dir / 'supervisord.log'}",
        "logfile_maxbytes=10MB",
        "logfile_backups=2",
        f"pidfile={layout.run_dir / 'supervisord.pid'}",
        f"childlogdir={layout.log_dir}",
        f"directory={paths.ROOT}",
        "loglevel=info",
        "",
        "[unix_http_server]",
        f"file={layout.socket_path}",
        "chmod=0700",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{layout.socket_path}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
    ]
    for prog in progs:
        lines += [
            "",
            f"[program:{prog.name}]",
            "command=" + shlex.join(prog.argv).replace("%", "%%"),
            f"priority={prog.priority}",
            "autostart=true",
            # Restart whatever way it exits; a program that dies within startsecs is retried after 1 s,
            # 2 s, 3 s… (BACKOFF) and only given up (FATAL) after startretries such failures in a row.
            "autorestart=true",
            f"startsecs={5 if prog.kind == 'data' else 2}",
            "startretries=50",
            "stopsignal=TERM",
            f"stopwaitsecs={prog.stop_wait}",
            # The data programs are wrappers around the JVM / mongod: signal the whole process group.
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={layout.log_dir / (prog.name + '.log')}",
            "stdout_logfile_maxbytes=20MB",
            "stdout_logfile_backups=1",
        ]
        if prog.env:
            lines.append("environment=" + ",".join(f"{k}={_quote_env(v)}" for k, v in prog.env.items()))
    return "\n".join(lines) + "\n"


def write_config(layout: Layout) -> Path:
    """Write supervisord.conf (and make the run and log directories)."""
    layout.log_dir.mkdir(parents=True, exist_ok=True)
    layout.conf_path.write_text(render_config(layout))
    return layout.conf_path


def supervisorctl(layout: Layout, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run supervisorctl against this stack's supervisord."""
    return subprocess.run([sys.executable, "-m", "supervisor.supervisorctl", "-c", str(layout.conf_path), *args],
                          capture_output=True, text=True, timeout=timeout, check=False)


def program_pids(layout: Layout) -> dict[str, int]:
    """pid of every program, 0 for one that is not RUNNING (from `supervisorctl status`)."""
    pids = {}
    for line in supervisorctl(layout, "status").stdout.splitlines():
        parts = line.replace(",", " ").split()
        if len(parts) >= 2:
            running = parts[1] == "RUNNING" and "pid" in parts
            pids[parts[0]] = int(parts[parts.index("pid") + 1]) if running else 0
    return pids


class LogTail(threading.Thread):
    """Follows every file in a log directory and prints new lines as `name | line` (the combined view)."""

    def __init__(self, log_dir: Path, out=None, interval: float = 0.2):
        super().__init__(name="log-tail", daemon=True)
        self.log_dir = log_dir
        self.out = out or sys.stdout
        self.interval = interval
        self.stop_event = threading.Event()
        # Start at the end of what earlier runs wrote: show this run only.
        self.offsets = {p: p.stat().st_size for p in log_dir.glob("*.log")} if log_dir.is_dir() else {}
        self.width = 20

    def poll(self) -> None:
        """Print whatever was appended since the last poll."""
        for path in sorted(self.log_dir.glob("*.log")):
            offset = self.offsets.get(path, 0)
            try:
                size = path.stat().st_size
                if size < offset:  # rotated
                    offset = 0
                if size == offset:
                    continue
                with open(path, "rb") as log:
                    log.seek(offset)
                    chunk = log.read(size - offset)
            except OSError:
                continue
            # Keep a partial last line for the next poll.
            complete, _, _ = chunk.rpartition(b"\n")
            if not complete and not chunk.endswith(b"\n"):
                continue
            self.offsets[path] = offset + len(complete) + 1
            name = "supervisor" if path.stem == "supervisord" else path.stem
            for line in complete.decode(errors="replace").splitlines():
                self.out.write(f"{name:<{self.width}}| {line}\n")
            self.out.flush()

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.poll()
            self.stop_event.wait(self.interval)
        self.poll()

    def stop(self) -> None:
        """Print what is left and stop following."""
        self.stop_event.set()
        self.join(timeout=5)


class SupervisedStack:
    """supervisord running `layout`'s programs as a child of this process."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        """Write the config and start supervisord (it starts every program, data services first)."""
        write_config(self.layout)
        self.layout.socket_path.unlink(missing_ok=True)
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "supervisor.supervisord", "-n", "-c", str(self.layout.conf_path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=paths.ROOT,
            # Its own process group: a Ctrl-C meant for the caller reaches supervisord only through stop().
            start_new_session=True)

    @property
    def running(self) -> bool:
        """Whether supervisord is still running."""
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 180) -> int | None:
        """SIGTERM supervisord: it stops the programs in reverse priority order, then exits."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        return self.popen.returncode

    def ctl(self, *args: str) -> subprocess.CompletedProcess:
        """supervisorctl against this stack."""
        return supervisorctl(self.layout, *args)

    def pids(self) -> dict[str, int]:
        """pid of each program (0 if not RUNNING)."""
        return program_pids(self.layout)

    def wait_ready(self, timeout: float = 300, on_ready=None) -> float:
        """Block until every service is ready (web and workers, see readiness); returns the seconds it took."""
        from .readiness import wait_ready
        return wait_ready(self.layout, timeout=timeout, on_ready=on_ready, alive=self.check_alive)

    def check_alive(self) -> None:
        """Raise if supervisord itself has exited."""
        if not self.running:
            raise RuntimeError(f"supervisord exited ({self.popen.returncode if self.popen else None}); "
                               f"see {self.layout.log_dir / 'supervisord.log'}")

    def __enter__(self) -> "SupervisedStack":
        self.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()


def run_foreground(layout: Layout) -> int:
    """`make run`: supervise the stack, print the combined log and the ready banner; Ctrl-C stops it all."""
    stack = SupervisedStack(layout)
    layout.log_dir.mkdir(parents=True, exist_ok=True)
    tail = LogTail(layout.log_dir)
    stopping = threading.Event()

    def on_signal(*_):
        stopping.set()
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    tail.start()
    stack.start()
    print(f"supervisord started (config {layout.conf_path}); logs in {layout.log_dir}", flush=True)

    def banner() -> None:
        from .readiness import print_banner
        try:
            print_banner(layout, stopping, alive=stack.check_alive)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr, flush=True)
            stopping.set()
    threading.Thread(target=banner, name="banner", daemon=True).start()
    while not stopping.is_set() and stack.running:
        stopping.wait(0.5)
    if stopping.is_set():
        print("stopping: applications first, then Kafka and mongod …", flush=True)
    code = stack.stop()
    tail.stop()
    print(f"supervisord exited ({code})", flush=True)
    return 0 if stopping.is_set() and code == 0 else (code or 1)
