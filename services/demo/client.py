"""A small HTTP client for the gateway's /api/<service>/ routes, patient with a system that is still starting."""
from __future__ import annotations

import time
import uuid

import requests


class DemoError(Exception):
    """A call the demo cannot continue without failed; the message says which and why."""


class Gateway:
    """Calls /api/<service>/… on the gateway; waits out rate limits (429) and brief unavailability (503)."""

    def __init__(self, base_url: str, timeout: float = 15.0, patience: float = 90.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.patience = patience
        self.session = requests.Session()
        self.session.trust_env = False
        self.last = ""  # the last answer, for a timeout's message

    def call(self, method: str, path: str, token: str | None = None, json=None, ok=(200, 201),
             idempotent: bool = False, params=None, headers=None) -> tuple[int, dict]:
        """(status, body) when status is in `ok` or a 4xx; DemoError on anything else after waiting."""
        headers = {"Accept": "application/json", **(headers or {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if idempotent:
            # One key for every retry of this call: a retried money move or post happens once.
            headers["Idempotency-Key"] = uuid.uuid4().hex
        deadline = time.monotonic() + self.patience
        while True:
            try:
                answer = self.session.request(method, f"{self.base_url}/api/{path}", json=json, params=params,
                                              headers=headers, timeout=self.timeout)
            except requests.ConnectionError as exc:
                raise DemoError(f"the gateway at {self.base_url} does not answer ({type(exc).__name__}); "
                                "is `make run` going?") from exc
            if answer.status_code in (429, 502, 503, 504) and time.monotonic() < deadline:
                wait = min(float(answer.headers.get("Retry-After", 2) or 2), 30.0)
                if answer.status_code == 429:
                    print(f"  … rate limited by {path.split('/')[0]}, waiting {wait:.0f}s", flush=True)
                time.sleep(wait)
                continue
            body = _json(answer)
            self.last = (f"{method} /api/{path} answered {answer.status_code}"
                         + (f" {body.get('code') or body.get('title')}" if answer.status_code >= 400 else ""))
            if answer.status_code in ok or 400 <= answer.status_code < 500:
                return answer.status_code, body
            raise DemoError(f"{method} /api/{path} answered {answer.status_code}: "
                            f"{body.get('detail') or body.get('title') or answer.text[:200]}")

    def ok(self, method: str, path: str, token: str | None = None, json=None, **kwargs) -> dict:
        """The body of a call that must succeed."""
        status, body = self.call(method, path, token, json, **kwargs)
        if status >= 400:
            raise DemoError(f"{method} /api/{path} answered {status}: {body.get('detail') or body.get('title')}")
        return body

    def until(self, what: str, probe, timeout: float = 180.0, interval: float = 0.5):
        """Poll probe() until it returns something truthy (events take a moment to reach other services)."""
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise DemoError(f"timed out after {timeout:.0f}s waiting for {what} (last: {self.last}); "
                                "are the consumers running?")
            time.sleep(interval)


def _json(answer: requests.Response) -> dict:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {"items": body}
