"""Where each backend service listens: `GATEWAY_<SERVICE>_URL`, else 127.0.0.1 on its fixed port."""
from __future__ import annotations

# Fixed ports of the architecture (docs/architecture.md); `make run`, compose and k8s all use them.
SERVICE_PORTS = {
    "gateway": 8000,
    "community": 8001,
    "requests": 8002,
    "matching": 8003,
    "ledger": 8004,
    "settlement": 8005,
    "exchange": 8006,
    "notifications": 8007,
}
BACKENDS = tuple(name for name in SERVICE_PORTS if name != "gateway")


def url_setting(service: str) -> str:
    """The name (without the GATEWAY_ prefix) of the setting that holds a backend's base URL."""
    return f"{service.upper()}_URL"


def setting_names() -> list[str]:
    """Every environment variable the gateway reads besides the common ones."""
    return [f"GATEWAY_{name}" for name in
            [url_setting(s) for s in BACKENDS] + ["CONNECT_TIMEOUT", "READ_TIMEOUT", "POOL_SIZE"]]


def upstream_urls(config) -> dict[str, str]:
    """Base URL of every backend, without a trailing slash."""
    return {service: str(config.setting(url_setting(service), f"http://127.0.0.1:{SERVICE_PORTS[service]}")).rstrip("/")
            for service in BACKENDS}
