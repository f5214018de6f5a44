"""The gateway's readiness: it serves as long as it runs; the backends' state is reported, not required."""
from __future__ import annotations

import threading
import time

import requests
from flask import current_app

CACHE_SECONDS = 5.0
PROBE_TIMEOUT = (0.5, 1.0)


class UpstreamHealth:
    """Asks each backend's /healthz, at most once per CACHE_SECONDS (kubelets probe often)."""

    def __init__(self, upstreams):
        self.upstreams = upstreams
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._states: dict[str, str] = {}

    def states(self) -> dict[str, str]:
        """'up' or 'down' for every backend."""
        with self._lock:
            if time.monotonic() - self._checked_at >= CACHE_SECONDS:
                self._states = {name: self._probe(url) for name, url in self.upstreams.urls.items()}
                self._checked_at = time.monotonic()
            return dict(self._states)

    def _probe(self, base_url: str) -> str:
        try:
            answer = self.upstreams.session.get(f"{base_url}/healthz", timeout=PROBE_TIMEOUT)
            answer.close()
            return "up" if answer.status_code == 200 else "down"
        except requests.RequestException:
            return "down"


def readyz():
    """Ready whenever the process serves: failing the gateway because one backend is down would take the
    whole site (and the other backends) away; each proxied call answers 503 for its own backend instead."""
    states = current_app.extensions["upstream_health"].states()
    return {"status": "ready", "upstreams": states}, 200
