"""Local development infrastructure: a KRaft Kafka broker and a one-member MongoDB replica set,
run as plain child processes from binaries fetched into .local/ (no Docker needed)."""
from .fetch import ensure_kafka, ensure_mongod, FetchError
from shared.kafka_bus import create_topics

from .kafka import KafkaBroker
from .mongod import Mongod
from .ports import free_port, port_open
from .process import PortInUse, ProcessExited
from .stack import docker_available, env_or_local, from_env, Stack, start_containers, start_local

__all__ = [
    "FetchError", "KafkaBroker", "Mongod", "PortInUse", "ProcessExited", "Stack", "env_or_local", "create_topics",
    "docker_available", "ensure_kafka", "ensure_mongod", "free_port", "from_env", "port_open",
    "start_containers", "start_local",
]
