"""Is the stack ready, meaning events flow: every web service answers /readyz and every worker process
of each service beats, with its relay holding the outbox lease and its consumer holding partitions."""
from __future__ import annotations

import threading
import time

import requests
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from shared.config import Config
from shared.worker import flowing, worker_roles, WORKER_STATUS

from .supervise import Layout


def readyz(url: str) -> str:
    """`HTTP <status>` of GET <url>/readyz, or why it did not answer."""
    try:
        return f"HTTP {requests.get(f'{url}/readyz', timeout=2).status_code}"
    except requests.ConnectionError:
        return "down (connection refused)"
    except requests.RequestException as exc:
        return f"down ({type(exc).__name__})"


def worker_docs(client: MongoClient, service: str, env: dict) -> list[dict]:
    """The liveness documents of a service's worker processes (its own database, as configured)."""
    db = Config.from_env(service, env=env).mongo_db
    try:
        return list(client[db][WORKER_STATUS].find())
    except PyMongoError:
        return []


def workers_state(client: MongoClient, service: str, env: dict) -> str:
    """`flowing`, or what is missing, for a service's workers."""
    roles = worker_roles(service)
    if not roles:
        return "flowing"
    docs = worker_docs(client, service, env)
    if any(flowing(doc) for doc in docs):
        return "flowing"
    if not docs:
        return "no worker heartbeat"
    doc = max(docs, key=lambda d: d.get("beat_at"))
    missing = [what for what, ok in (("relay lease", doc.get("relay_lease", True)),
                                     ("consumer partitions", doc.get("consumer_partitions", 1))) if not ok]
    return "waiting for " + (", ".join(missing) or "a fresh heartbeat")


def service_ready(layout: Layout, client: MongoClient, service: str) -> tuple[bool, str]:
    """(ready, explanation) for one service: web /readyz and workers."""
    web = readyz(layout.url(service))
    workers = workers_state(client, service, layout.app_env())
    return web == "HTTP 200" and workers == "flowing", f"/readyz {web}; workers {workers}"


def wait_ready(layout: Layout, timeout: float = 300, on_ready=None, alive=None,
               stop: threading.Event | None = None) -> float:
    """Block until every service of `layout` is ready; on_ready(service) as each becomes so; seconds taken."""
    started = time.monotonic()
    waiting = list(layout.services)
    client = MongoClient(layout.mongo_url, serverSelectionTimeoutMS=2000, tz_aware=True)
    try:
        while waiting:
            if stop is not None and stop.is_set():
                break
            if alive is not None:
                alive()
            for service in list(waiting):
                ok, _ = service_ready(layout, client, service)
                if ok:
                    waiting.remove(service)
                    if on_ready:
                        on_ready(service)
            if time.monotonic() - started > timeout:
                details = {s: service_ready(layout, client, s)[1] for s in waiting}
                raise TimeoutError(f"not ready after {timeout:.0f}s: {details}")
            if waiting:
                time.sleep(0.5)
    finally:
        client.close()
    return time.monotonic() - started


def print_banner(layout: Layout, stop: threading.Event, alive=None) -> None:
    """Print each service as it becomes ready, then the 'all services ready' line."""
    def announce(service: str) -> None:
        roles = worker_roles(service)
        extra = f", workers: {' '.join(roles)}" if roles else ""
        print(f"{service:<11} ready  {layout.url(service)}  (API docs: /openapi.json{extra})", flush=True)
    took = wait_ready(layout, timeout=float("inf"), on_ready=announce, alive=alive, stop=stop)
    if not stop.is_set():
        print(f"all services ready after {took:.0f}s (web answering, relays holding their leases, consumers "
              "assigned): events flow. `make status` shows their health, Ctrl-C stops everything", flush=True)
