"""Service configuration, read only from environment variables with local defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

DEV_JWT_SECRET = "dev-only-secret-change-me-in-production-0123456789"


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
    rate_limit_storage: str = "memory://"
    trusted_proxy_hops: int = 0
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
