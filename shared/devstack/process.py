"""A long-running child process whose output goes to a log file."""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from collections import deque
from pathlib import Path

from .ports import port_open


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc); 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def children(pid: int) -> list[int]:
    """The direct children of a process (Linux /proc); [] when it is gone."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants (gunicorn's master and workers, a launcher script and its JVM)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children(p))
    return out


class ProcessExited(RuntimeError):
    """The child process died while we were waiting for it."""


class PortInUse(RuntimeError):
    """Another process already listens on a port we were asked to use."""


def ensure_ports_free(name: str, *ports: int) -> None:
    """Raise PortInUse if anything answers on one of `ports` (on a shared box a readiness probe would
    otherwise happily talk to someone else's server)."""
    busy = [port for port in ports if port_open(port)]
    if busy:
        raise PortInUse(f"cannot start {name}: port(s) {busy} on 127.0.0.1 already in use")


class ChildProcess:
    """Launch, stop and kill one child process; stdout+stderr are appended to `log_path`."""

    def __init__(self, name: str, argv: list[str], log_path: Path):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.popen: subprocess.Popen | None = None
        # Set by the long-running wrappers `make run` supervises: if the wrapper is killed (kill -9), the
        # kernel sends the server SIGTERM, so its restarted wrapper does not find the ports taken by an orphan.
        # Only for a child started from a thread that lives as long as the wrapper (PDEATHSIG is per thread).
        self.die_with_parent = False

    @property
    def running(self) -> bool:
        """Whether the child has been started and has not exited."""
        return self.popen is not None and self.popen.poll() is None

    @property
    def pid(self) -> int | None:
        """The child's pid while running."""
        return self.popen.pid if self.running else None

    def start(self) -> None:
        """Launch the child (no-op if already running)."""
        if self.running:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            # stdin from /dev/null: the child must never compete with supervisord/pytest for the terminal.
            self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, close_fds=True,
                                          preexec_fn=_term_with_parent if self.die_with_parent else None)

    def check_alive(self) -> None:
        """Raise ProcessExited (with the log tail) if the child is not running."""
        if not self.running:
            code = None if self.popen is None else self.popen.returncode
            raise ProcessExited(f"{self.name} is not running (exit code {code}); "
                                f"last lines of {self.log_path}:\n{self.log_tail()}")

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, wait up to `timeout` seconds, then SIGKILL; returns the exit code."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode

    def kill(self) -> int | None:
        """SIGKILL immediately (simulates a crash); returns the exit code."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.kill()
        return self.popen.wait()

    def wait(self) -> int:
        """Block until the child exits; returns its exit code."""
        assert self.popen is not None, "not started"
        return self.popen.wait()

    def log_tail(self, lines: int = 30) -> str:
        """The last `lines` lines of the child's log."""
        if not self.log_path.exists():
            return "(no log)"
        with open(self.log_path, "rb") as log:
            return b"".join(deque(log, maxlen=lines)).decode(errors="replace")


def _term_with_parent() -> None:
    """In the forked child: ask the kernel for SIGTERM when the parent dies (Linux prctl PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)


class ManagedServer:
    """A server process we own (Kafka, mongod): clean stop, crash by SIGKILL, restart on the same data."""

    process: ChildProcess
    stop_timeout = 30.0

    def start_ready(self, timeout: float) -> None:
        """Start and wait until the server serves."""
        raise NotImplementedError

    def stop(self, timeout: float | None = None) -> int | None:
        """Clean shutdown: SIGTERM, wait, then SIGKILL."""
        return self.process.stop(timeout or self.stop_timeout)

    def kill(self) -> int | None:
        """SIGKILL the server (crash simulation; journals make acknowledged writes survive)."""
        return self.process.kill()

    def restart(self, hard: bool = False, timeout: float = 60.0) -> None:
        """Stop (or kill if `hard`) and start again on the same data, then wait until it serves."""
        if hard:
            self.kill()
        else:
            self.stop()
        self.start_ready(timeout)


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc (Linux only)."""
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
