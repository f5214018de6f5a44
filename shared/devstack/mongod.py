"""A single-member MongoDB replica set (transactions need one) run from the binary in .local/."""
from __future__ import annotations

from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError
from tenacity import retry_if_exception_type, Retrying, stop_after_delay, wait_fixed

from . import paths
from .process import ChildProcess, ensure_ports_free, ManagedServer, ProcessExited

REPLICA_SET = "rs0"


class NotPrimaryYet(PyMongoError):
    """The member is up but has not been elected primary yet."""


def _retrying(timeout: float) -> Retrying:
    return Retrying(stop=stop_after_delay(timeout), wait=wait_fixed(0.2), reraise=True,
                    retry=retry_if_exception_type(PyMongoError))


def ensure_replica_set(client: MongoClient, host: str, timeout: float = 60.0) -> None:
    """Initiate the one-member set `rs0` as `host` (or re-point it after a port change); wait for PRIMARY."""
    config = client.local["system.replset"].find_one()
    if config is None:
        client.admin.command("replSetInitiate", {"_id": REPLICA_SET, "members": [{"_id": 0, "host": host}]})
    elif [m["host"] for m in config["members"]] != [host]:
        # Same data dir started on another port: the stored member address no longer matches this node,
        # so it would never become primary. Force the config to the current address.
        config["members"] = [{**config["members"][0], "host": host}]
        config["version"] += 1
        client.admin.command("replSetReconfig", config, force=True)
    _retrying(timeout)(_check_primary, client)


def _check_primary(client: MongoClient) -> None:
    if not client.admin.command("hello").get("isWritablePrimary"):
        raise NotPrimaryYet("not primary yet")


class Mongod(ManagedServer):
    """One local mongod process, a one-member replica set; data survives stop/start with the same data_dir."""

    def __init__(self, port: int = 27017, data_dir: Path = paths.MONGO_DATA, cache_gb: float = 0.25,
                 binary: Path = paths.MONGOD_BIN):
        self.port = port
        self.data_dir = Path(data_dir)
        self.cache_gb = cache_gb
        self.binary = Path(binary)
        self.process = ChildProcess("mongod", [
            str(self.binary), "--replSet", REPLICA_SET, "--bind_ip", "127.0.0.1", "--port", str(port),
            "--dbpath", str(self.data_dir / "db"), "--wiredTigerCacheSizeGB", str(cache_gb),
            # FTDC samples every second and writes diagnostic files: pure overhead on a dev box.
            "--setParameter", "diagnosticDataCollectionEnabled=false",
            # A process killed mid-transaction keeps its document locks until the server aborts the
            # transaction; our transactions last milliseconds, so 10 s instead of 60 s unblocks sooner.
            "--setParameter", "transactionLifetimeLimitSeconds=10",
            # Journal stays on (acknowledged writes survive a kill); smaller, non-preallocated files
            # shrink a fresh data dir from ~300 MB to ~10 MB, which matters for per-test-session dirs.
            "--wiredTigerEngineConfigString", "log=(prealloc=false,file_max=10MB)",
        ], self.data_dir / "mongod.log")

    @property
    def url(self) -> str:
        """Connection string for clients (replica-set aware, so transactions work)."""
        return f"mongodb://127.0.0.1:{self.port}/?replicaSet={REPLICA_SET}"

    @property
    def direct_url(self) -> str:
        """Connection string that talks to this node only, whatever its replica-set state."""
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self, timeout: float = 60.0) -> None:
        """Launch mongod, initiate the replica set if needed, and wait until it is PRIMARY."""
        if not self.process.running:
            ensure_ports_free("mongod", self.port)
            (self.data_dir / "db").mkdir(parents=True, exist_ok=True)
            self.process.start()
        client = MongoClient(self.direct_url, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000)
        try:
            _retrying(timeout)(self._ping, client)
            ensure_replica_set(client, f"127.0.0.1:{self.port}", timeout)
        finally:
            client.close()

    def _ping(self, client: MongoClient) -> None:
        self.process.check_alive()  # ProcessExited is not a PyMongoError, so it stops the retries
        pid = client.admin.command("serverStatus", repl=0, metrics=0, locks=0)["pid"]
        if pid != self.process.pid:
            raise ProcessExited(f"127.0.0.1:{self.port} is served by pid {pid}, not our mongod "
                                f"({self.process.pid}): another mongod took the port?")

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Same as start(): it already waits; here for symmetry with KafkaBroker."""
        self.start(timeout)

    def start_ready(self, timeout: float) -> None:
        """Start and wait until this member is PRIMARY."""
        self.start(timeout)

    def __repr__(self) -> str:
        return f"Mongod(url={self.url!r}, data_dir={str(self.data_dir)!r}, pid={self.process.pid})"
