"""Session-wide infrastructure fixtures (Kafka + MongoDB) only; test-specific fixtures go in sub-conftests."""
from __future__ import annotations

import os
import time
import warnings

import pytest

from shared import devstack

# The `deployment` fixtures that run services in-process on top of `infra`.
pytest_plugins = ["shared.pytest_plugin"]

# Test brokers are throw-away: the same small footprint as the dev stack unless overridden.
_HEAP_MB = int(os.environ.get("KAFKA_HEAP_MB", 256))
_CACHE_GB = float(os.environ.get("MONGO_CACHE_GB", 0.25))


def _start_local(tmp_path_factory, name: str) -> devstack.Stack:
    started = time.monotonic()
    stack = devstack.start_local(tmp_path_factory.mktemp(name), heap_mb=_HEAP_MB, cache_gb=_CACHE_GB)
    print(f"\n[{name}] kafka {stack.kafka_bootstrap} + mongod {stack.mongo_url} "
          f"started in {time.monotonic() - started:.1f}s")
    return stack


@pytest.fixture(scope="session")
def infra(tmp_path_factory) -> devstack.Stack:
    """Kafka + MongoDB for the session: KAFKA_BOOTSTRAP+MONGO_URL if set, else Docker, else local processes.

    Attributes: kafka_bootstrap, mongo_url, restartable, and kafka/mongod (only when started here).
    """
    stack = devstack.from_env()
    if stack is None and devstack.docker_available():
        try:
            stack = devstack.start_containers()
        except Exception as exc:  # noqa: BLE001 - Docker is a best-effort path; local processes always work
            warnings.warn(f"testcontainers start failed, using local processes instead: {exc!r}", stacklevel=1)
    if stack is None:
        stack = _start_local(tmp_path_factory, "infra")
    yield stack
    stack.close()


@pytest.fixture(scope="session")
def fault_infra(tmp_path_factory) -> devstack.Stack:
    """A private, restartable Kafka + mongod pair (started on first use) for tests that stop or kill them."""
    stack = _start_local(tmp_path_factory, "fault_infra")
    yield stack
    stack.close()
