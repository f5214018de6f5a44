"""The web role of a service: its WSGI app under the HTTP server its settings name. `make run`, the container
entrypoint and the benches start every web process through here (`python -m shared.webserver <service>`).

Environment (defaults in brackets; shared.config.WEB_ENV holds the per-service values):
- `WEB_SERVER` [gunicorn]: `gunicorn` (shared/gunicorn_conf.py: its threads, its problem+json answer to a request
  it cannot parse) or `granian` (HTTP/1 parsed in Rust, the same WSGI app on blocking threads). The ledger runs
  granian: on its write path gunicorn's own request handling cost more CPU than the ledger's code
  (services/ledger/README.md, "HTTP server"). The gateway, the one origin clients talk to, stays on gunicorn, so
  a request that cannot be parsed is still answered as a problem; granian answers one with an empty 400.
- `BIND` [127.0.0.1:$PORT, PORT 8000], `WEB_CONCURRENCY` [1] processes, `WEB_THREADS` [8] threads each,
  `LOG_LEVEL` [info].
"""
from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
import threading
import time

SERVERS = ("gunicorn", "granian")
# How often a granian worker looks whether its master still lives, and how long it then has to finish.
PARENT_CHECK_SECONDS = 1.0
ORPHAN_EXIT_SECONDS = 10.0
log = logging.getLogger(__name__)


def bind_of(env) -> str:
    """The address the web role listens on."""
    return env.get("BIND") or f"127.0.0.1:{env.get('PORT', '8000')}"


def command(service: str, env=os.environ) -> list[str]:
    """The command line serving `service`'s app under `env`'s settings (ValueError for an unknown server)."""
    server = env.get("WEB_SERVER") or "gunicorn"
    bind = bind_of(env)
    if server == "gunicorn":
        return [sys.executable, "-m", "gunicorn", "-c", "python:shared.gunicorn_conf", "--bind", bind,
                f"services.{service}.app:create_app()"]
    if server == "granian":
        host, _, port = bind.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"granian 需要 BIND 为 主机:端口，而不是 {bind!r}。 / BIND must be host:port for granian, "
                             f"not {bind!r}.")
        # The target is granian_app (below), which builds the service's app in a worker that dies with its master;
        # a worker that dies is started again, as gunicorn's master does.
        return [sys.executable, "-m", "granian", "--interface", "wsgi", "--factory",
                "--host", host.strip("[]"), "--port", port,
                "--workers", env.get("WEB_CONCURRENCY", "1"), "--blocking-threads", env.get("WEB_THREADS", "8"),
                "--backlog", "2048", "--no-ws", "--workers-kill-timeout", "10",
                "--respawn-failed-workers", "--respawn-interval", "1",
                "--log-level", env.get("LOG_LEVEL", "info").lower(), "shared.webserver:granian_app"]
    raise ValueError(f"WEB_SERVER 只能是 {' 或 '.join(SERVERS)}，而不是 {server!r}。 / WEB_SERVER must be one of "
                     f"{', '.join(SERVERS)}, not {server!r}.")


def granian_app():
    """The WSGI app of the service WEB_SERVICE names, built in a granian worker process, which stops when its master
    is gone: a master killed with -9 (supervisord then starts a new one on the same port) would otherwise leave its
    workers serving on as orphans, holding the port. gunicorn's workers do the same check."""
    master = os.getppid()

    def watch() -> None:
        while os.getppid() == master:
            time.sleep(PARENT_CHECK_SECONDS)
        log.warning("web worker: its master is gone; stopping (主进程已退出，工作进程随之停止)", extra={"master": master})
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(ORPHAN_EXIT_SECONDS)
        os._exit(1)
    threading.Thread(target=watch, name="master-watch", daemon=True).start()
    return importlib.import_module(f"services.{os.environ['WEB_SERVICE']}.app").create_app()


def main(argv=None) -> int:
    """Check the service's secrets against the address, then become its HTTP server (exec)."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("用法 / usage: python -m shared.webserver <service>", file=sys.stderr)
        return 2
    from shared.config import check_secrets, Config, InsecureConfig
    service = argv[0]
    try:
        argv_ = command(service)
        # gunicorn checks again in on_starting (shared/gunicorn_conf.py), for anyone who starts it directly.
        check_secrets(Config.from_env(service), [bind_of(os.environ)])
    except (ValueError, InsecureConfig) as exc:
        print(str(exc), file=sys.stderr)
        return 3
    os.environ["WEB_SERVICE"] = service  # for granian_app, in granian's workers
    os.execv(argv_[0], argv_)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
