"""A single-node KRaft Kafka broker (broker+controller in one JVM) run from the jars in .local/."""
from __future__ import annotations

import base64
import shutil
import subprocess
import uuid
from pathlib import Path

from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError
from tenacity import retry_if_exception_type, Retrying, stop_after_delay, wait_fixed

from . import paths
from .ports import port_open
from .process import ChildProcess, ensure_ports_free, ManagedServer, ProcessExited

_SERVER_PROPERTIES = """\
# Written by shared.devstack on every start; edit shared/devstack/kafka.py instead.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs={log_dir}

# Topics are created explicitly (shared.kafka_bus.ensure_topics); a typo must fail, not create a topic.
auto.create.topics.enable=false
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# Fewer internal partitions than the default 50: the first consumer group / transaction on a fresh
# broker creates these topics, and 50 partitions each cost noticeable seconds on a 2-core box.
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10
# Consumers join immediately instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
# After a crash (SIGKILL) the restarted broker can only re-register once the old incarnation's
# session has expired; default 9 s + 2 s heartbeats made crash-restart tests take ~15 s. Heartbeats are
# local (combined mode), so a tighter session is safe.
broker.session.timeout.ms=4500
broker.heartbeat.interval.ms=1000
# Never delete events by age or size on the dev stack; `make clean-data` is the reset button.
log.retention.ms=-1
log.retention.bytes=-1

# Sized for a 2-core dev machine.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
"""

# Same collector flags as Kafka's own kafka-server-start.sh.
_JVM_FLAGS = ["-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
              "-XX:+ExplicitGCInvokesConcurrent", "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true"]


def _new_cluster_id() -> str:
    """A random cluster id in Kafka's Uuid text form (url-safe base64, no padding)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):  # Kafka avoids these too: they look like CLI flags
            return text


class KafkaBroker(ManagedServer):
    """One local Kafka broker process; data survives stop/start with the same data_dir."""

    stop_timeout = 60.0  # a broker flushing its logs takes longer than mongod

    def __init__(self, port: int = 9092, controller_port: int = 9093, data_dir: Path = paths.KAFKA_DATA,
                 heap_mb: int = 256, libs_dir: Path = paths.KAFKA_LIBS):
        self.port = port
        self.controller_port = controller_port
        self.data_dir = Path(data_dir)
        self.heap_mb = heap_mb
        self.libs_dir = Path(libs_dir)
        self.process = ChildProcess("kafka", self._java_cmd("kafka.Kafka", str(self.config_path)),
                                    self.data_dir / "kafka.log")

    @property
    def bootstrap(self) -> str:
        """The bootstrap.servers string for clients."""
        return f"127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        """The generated server.properties."""
        return self.data_dir / "server.properties"

    @property
    def log_dir(self) -> Path:
        """Kafka's data (log.dirs), including meta.properties once formatted."""
        return self.data_dir / "logs"

    @property
    def formatted(self) -> bool:
        """Whether the storage has been formatted (formatting again would fail / lose the cluster id)."""
        return (self.log_dir / "meta.properties").is_file()

    @property
    def cluster_id(self) -> str | None:
        """The cluster id written by the storage format."""
        if not self.formatted:
            return None
        for line in (self.log_dir / "meta.properties").read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "cluster.id":
                return value.strip()
        return None

    def _java_cmd(self, main_class: str, *args: str) -> list[str]:
        java = shutil.which("java") or "java"
        return [java, f"-Xms{self.heap_mb}m", f"-Xmx{self.heap_mb}m", *_JVM_FLAGS,
                f"-Dlog4j.configuration={paths.KAFKA_LOG4J.as_uri()}",
                "-cp", f"{self.libs_dir}/*", main_class, *args]

    def start(self) -> None:
        """Write server.properties, format storage on first use, and launch the broker (does not wait)."""
        if self.process.running:
            return
        ensure_ports_free("kafka", self.port, self.controller_port)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(_SERVER_PROPERTIES.format(
            port=self.port, controller_port=self.controller_port, log_dir=self.log_dir))
        if not self.formatted:
            self._format()
        self.process.start()

    def _format(self) -> None:
        cmd = self._java_cmd("kafka.tools.StorageTool", "format", "-t", _new_cluster_id(), "-c", str(self.config_path))
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"kafka storage format failed (exit {result.returncode}):\n"
                               f"{result.stdout}{result.stderr}")

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until the broker answers admin requests with itself registered; raise if it dies."""
        retrying = Retrying(stop=stop_after_delay(timeout), wait=wait_fixed(0.2), reraise=True,
                            retry=retry_if_exception_type((ConnectionError, KafkaError)))
        # Poll the socket first: every failed KafkaAdminClient construction leaves an IO thread behind.
        retrying(self._check_listening)
        retrying(self._check_registered)

    def _check_listening(self) -> None:
        self.process.check_alive()
        if not port_open(self.port):
            raise ConnectionError(f"kafka not listening on {self.bootstrap} yet")

    def _check_registered(self) -> None:
        self.process.check_alive()
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="devstack-ready",
                                 bootstrap_timeout_ms=5000, request_timeout_ms=5000)
        try:
            cluster = admin.describe_cluster()
            if cluster["cluster_id"] != self.cluster_id:
                raise ProcessExited(f"{self.bootstrap} answers for cluster {cluster['cluster_id']}, not ours "
                                    f"({self.cluster_id}): another broker took the port?")
            if not cluster["brokers"]:
                raise ConnectionError("broker not registered yet")
        finally:
            admin.close()

    def start_ready(self, timeout: float) -> None:
        """Start and wait until the broker answers."""
        self.start()
        self.wait_ready(timeout)

    def __repr__(self) -> str:
        return f"KafkaBroker(bootstrap={self.bootstrap!r}, data_dir={str(self.data_dir)!r}, pid={self.process.pid})"


__all__ = ["KafkaBroker", "ProcessExited"]
