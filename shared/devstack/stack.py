"""Kafka + mongod together: from the environment, from Docker (testcontainers), or as local processes."""
from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
import tempfile
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pymongo import MongoClient
from tenacity import retry_if_exception_type, Retrying, stop_after_attempt

from .fetch import ensure_kafka, ensure_mongod
from .kafka import KafkaBroker
from .mongod import ensure_replica_set, Mongod
from .ports import free_port
from .process import PortInUse


@dataclass
class Stack:
    """Where Kafka and MongoDB are; `kafka`/`mongod` are set only when we own the processes."""

    kafka_bootstrap: str
    mongo_url: str
    kafka: KafkaBroker | None = None
    mongod: Mongod | None = None
    origin: str = "local"
    _cleanup: ExitStack = field(default_factory=ExitStack, repr=False)

    @property
    def restartable(self) -> bool:
        """Whether fault tests may stop/kill/restart the processes behind this stack."""
        return self.kafka is not None and self.mongod is not None

    def close(self) -> None:
        """Stop whatever this stack started."""
        self._cleanup.close()


def from_env() -> Stack | None:
    """A stack pointing at KAFKA_BOOTSTRAP + MONGO_URL if both are set (e.g. a running `make run`)."""
    bootstrap, url = os.environ.get("KAFKA_BOOTSTRAP"), os.environ.get("MONGO_URL")
    if bootstrap and url:
        return Stack(kafka_bootstrap=bootstrap, mongo_url=url, origin="env")
    return None


@contextmanager
def env_or_local(name: str):
    """The stack of KAFKA_BOOTSTRAP + MONGO_URL if set, else a throw-away local one, stopped and deleted after."""
    stack = from_env()
    if stack is not None:
        yield stack
        return
    with tempfile.TemporaryDirectory(prefix=f"{name}-") as base:
        print(f"{name}: starting a private Kafka + mongod …", flush=True)
        stack = start_local(Path(base))
        try:
            yield stack
        finally:
            stack.close()


def docker_available(timeout: float = 5.0) -> bool:
    """Whether a Docker engine answers (`docker info`), not merely whether the CLI is installed."""
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=timeout, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def start_local(base_dir: Path, heap_mb: int = 256, cache_gb: float = 0.25) -> Stack:
    """Fetch if needed, then start Kafka and mongod in parallel on free ports under `base_dir`."""
    ensure_kafka()
    ensure_mongod()
    base_dir = Path(base_dir)
    # A free port can be grabbed by someone else before we bind it: pick new ports and try again.
    retrying = Retrying(stop=stop_after_attempt(3), retry=retry_if_exception_type(PortInUse), reraise=True)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="devstack") as pool:
        kafka_future = pool.submit(retrying, _start_kafka, base_dir / "kafka", heap_mb)
        mongod_future = pool.submit(retrying, _start_mongod, base_dir / "mongo", cache_gb)
        stack = Stack(kafka_bootstrap="", mongo_url="")
        errors = []
        for future, attr in ((kafka_future, "kafka"), (mongod_future, "mongod")):
            try:
                setattr(stack, attr, future.result())
            except Exception as exc:  # noqa: BLE001 - collect both, stop the survivor, re-raise below
                errors.append(exc)
    for server in (stack.kafka, stack.mongod):
        if server is not None:
            stack._cleanup.callback(server.stop)
    if errors:
        stack.close()
        raise errors[0]
    stack.kafka_bootstrap, stack.mongo_url = stack.kafka.bootstrap, stack.mongod.url
    return stack


def _start_kafka(data_dir: Path, heap_mb: int) -> KafkaBroker:
    broker = KafkaBroker(port=free_port(), controller_port=free_port(), data_dir=data_dir, heap_mb=heap_mb)
    broker.start()
    try:
        broker.wait_ready()
    except BaseException:
        broker.stop()
        raise
    return broker


def _start_mongod(data_dir: Path, cache_gb: float) -> Mongod:
    mongod = Mongod(port=free_port(), data_dir=data_dir, cache_gb=cache_gb)
    try:
        mongod.start()
    except BaseException:
        mongod.stop()
        raise
    return mongod


def start_containers() -> Stack:
    """Best effort: Kafka and a one-member mongo replica set in Docker via testcontainers."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.kafka import KafkaContainer

    stack = Stack(kafka_bootstrap="", mongo_url="", origin="docker")
    try:
        kafka = KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft()
        kafka.with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
        kafka.with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
        stack._cleanup.enter_context(kafka)
        stack.kafka_bootstrap = kafka.get_bootstrap_server()

        # The testcontainers Mongo module enables auth, which a replica set would also need a keyfile
        # for; a plain container started with --replSet is simpler and allows transactions.
        mongo = DockerContainer("mongo:6.0").with_command("--replSet rs0 --bind_ip_all").with_exposed_ports(27017)
        stack._cleanup.enter_context(mongo)
        host, port = mongo.get_container_host_ip(), mongo.get_exposed_port(27017)
        stack.mongo_url = f"mongodb://{host}:{port}/?directConnection=true"
        client = MongoClient(stack.mongo_url, serverSelectionTimeoutMS=30000)
        try:
            client.admin.command("ping")
            # Members are addressed from inside the container; clients use directConnection, so that is fine.
            ensure_replica_set(client, "localhost:27017")
        finally:
            client.close()
    except BaseException:
        stack.close()
        raise
    return stack
