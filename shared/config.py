"""Service configuration, read only from environment variables with local defaults."""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace

from shared.outbox import LINGER_SECONDS

# Development values, written in this repository: good only for a process nobody else can reach.
DEV_JWT_SECRET = "dev-only-secret-change-me-in-production-0123456789"
DEV_OPERATOR_KEY = "dev-operator-key"
# Services with deployment-operator acts behind `X-Operator-Key` (<SERVICE>_OPERATOR_KEY): creating a community,
# grafting this deployment onto a trunkward Credit Commons node.
OPERATOR_KEY_SERVICES = ("community", "exchange")
# Web-process settings of a service (shared/webserver.py) where they differ from the defaults (gunicorn, 1 process
# of 8 threads): `make run`, docker-compose and k8s all take them from here. The ledger: one process of 16
# threads, not 2 x 8. Each process has one group-commit thread, and two processes split the same load into
# smaller groups that conflict with each other: 1 x 16 did 45-123 transfers/s at 9-13 ms of CPU per transfer over
# all processes where 2 x 8 did 35-40/s at 17-20 ms, run back to back (services/ledger/README.md, Benchmark).
# 64 threads, not 16: a grouped request holds its thread while it waits for its group's transaction, so the
# threads bound the group size; with 16, at 60 transfers/s on a busy machine the requests queued for a thread
# (p99 10 s, groups of 8) where 64 let groups grow to 17 and the committer keep up (p99 1.4 s), back to back.
# granian, not gunicorn (shared/webserver.py): HTTP parsed in Rust cut the ledger's CPU per transfer by ~30 %
# (services/ledger/README.md, "HTTP server").
WEB_ENV = {"ledger": {"WEB_SERVER": "granian", "WEB_CONCURRENCY": "1", "WEB_THREADS": "64"}}


class InsecureConfig(RuntimeError):
    """A service would serve other machines with a secret everyone can read in the repository."""


@dataclass(frozen=True)
class Config:
    """Everything a service process needs to know about its surroundings."""

    service: str
    mongo_url: str = "mongodb://127.0.0.1:27017/?replicaSet=rs0"
    mongo_db: str = ""
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    jwt_algorithm: str = "HS256"
    jwt_secret: str = DEV_JWT_SECRET
    jwt_private_key: str = ""
    jwt_public_key: str = ""
    jwt_issuer: str = "timebank-community"
    token_ttl_seconds: int = 8 * 3600
    max_content_length: int = 64 * 1024
    log_level: str = "INFO"
    # "" = the service's own MongoDB (shared by all its processes); "memory://" = per process (shared.ratelimit).
    rate_limit_storage: str = ""
    trusted_proxy_hops: int = 0
    # How long the outbox relay gathers commits after a wake-up before it publishes them as one batch: longer =
    # fewer batches (less CPU) and later events (shared.outbox.LINGER_SECONDS, the default, says what was measured).
    relay_linger_ms: int = round(LINGER_SECONDS * 1000)
    settings: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, service: str, env: dict | None = None, **overrides) -> "Config":
        """Build a Config for `service` from the environment (or a given mapping)."""
        env = os.environ if env is None else env
        values = dict(
            service=service,
            mongo_url=env.get("MONGO_URL", cls.mongo_url),
            mongo_db=env.get("MONGO_DB", "") or f"timebank_{service}",
            kafka_bootstrap=env.get("KAFKA_BOOTSTRAP", cls.kafka_bootstrap),
            topic_prefix=env.get("TOPIC_PREFIX", ""),
            jwt_algorithm=env.get("JWT_ALGORITHM", cls.jwt_algorithm),
            jwt_secret=env.get("JWT_SECRET", cls.jwt_secret),
            jwt_private_key=env.get("JWT_PRIVATE_KEY", ""),
            jwt_public_key=env.get("JWT_PUBLIC_KEY", ""),
            token_ttl_seconds=int(env.get("TOKEN_TTL_SECONDS", cls.token_ttl_seconds)),
            max_content_length=int(env.get("MAX_CONTENT_LENGTH", cls.max_content_length)),
            log_level=env.get("LOG_LEVEL", cls.log_level),
            rate_limit_storage=env.get("RATE_LIMIT_STORAGE", cls.rate_limit_storage),
            trusted_proxy_hops=int(env.get("TRUSTED_PROXY_HOPS", cls.trusted_proxy_hops)),
            relay_linger_ms=max(0, min(int(env.get("RELAY_LINGER_MS", cls.relay_linger_ms)), 1000)),
            settings={k: v for k, v in env.items() if k.startswith(service.upper() + "_")},
        )
        values.update(overrides)
        return cls(**values)

    def with_(self, **changes) -> "Config":
        """A copy with some fields changed (tests use it for per-test databases and topics)."""
        return replace(self, **changes)

    def topic(self, name: str) -> str:
        """The real topic name for a logical one, with this deployment's prefix."""
        return f"{self.topic_prefix}{name}"

    def setting(self, name: str, default=None):
        """A service-specific variable `<SERVICE>_<NAME>` (e.g. LEDGER_PENDING_TTL_DAYS)."""
        return self.settings.get(f"{self.service.upper()}_{name}", default)


def dev_secrets_in_use(config: Config) -> list[str]:
    """The environment variables whose value is still the repository's development value."""
    found = []
    # The gateway only forwards tokens; every other service verifies (community also signs) them.
    if config.service != "gateway" and config.jwt_algorithm.upper().startswith("HS") \
            and config.jwt_secret == DEV_JWT_SECRET:
        found.append("JWT_SECRET")
    if config.service in OPERATOR_KEY_SERVICES and config.setting("OPERATOR_KEY", DEV_OPERATOR_KEY) == DEV_OPERATOR_KEY:
        found.append(f"{config.service.upper()}_OPERATOR_KEY")
    return found


def is_loopback(bind: str) -> bool:
    """Whether a gunicorn bind address ("host:port", "[v6]:port", "unix:/path", "fd://3") is local only."""
    if bind.startswith(("unix:", "fd://")):
        return bind.startswith("unix:")  # a socket file is as private as its directory; an fd is unknown
    host = bind.rsplit(":", 1)[0] if bind.count(":") == 1 or bind.startswith("[") else bind
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name or "" (every interface): assume reachable


def check_secrets(config: Config, binds: list[str]) -> None:
    """Refuse (InsecureConfig) to serve on a non-loopback address with a development secret or key."""
    exposed = [b for b in binds if not is_loopback(b)]
    names = dev_secrets_in_use(config)
    if exposed and names:
        raise InsecureConfig(
            f"{config.service} 拒绝启动：{', '.join(names)} 仍是代码仓库里公开的开发用值，而服务监听在非本机地址 "
            f"{', '.join(exposed)}。请设置真实的随机值（例如 `openssl rand -hex 32`），或只监听 127.0.0.1 做本地开发。 / "
            f"{config.service} refuses to start: {', '.join(names)} still has the development value published in "
            f"the repository while it listens on {', '.join(exposed)}, which other machines can reach. Set a real "
            f"random value (e.g. `openssl rand -hex 32`), or bind to 127.0.0.1 for local development.")
