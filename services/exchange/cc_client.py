"""The outbound side of the Credit Commons protocol: requests to a neighbour node (`cc-node`, `last-hash`,
`cc-node-trace`, `cc-signature`), with timeouts and tenacity retries, never inside a database transaction; and the
per-neighbour lock that keeps one request at a time on a shared hash chain."""
from __future__ import annotations

import json
import os
import re
import socket
import time
import uuid as uuidlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import requests
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from shared.mongo import utcnow
from services.exchange.federation import SIGNATURE_HEADER, TrunkwardNode

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMEOUT = (2.0, 5.0)  # connect, read (the reference node's relays use 2 s)
ATTEMPTS = 3
LOCK_TTL = timedelta(seconds=30)
LOCKS = "cc_locks"


@dataclass(frozen=True)
class Answer:
    """What the neighbour said: `ok` (2xx), `refused` (a 4xx other than 401: it changed nothing), or neither (a
    network failure, a timeout, a 5xx or a 401: the step stays to be repeated)."""

    status: int | None
    message: str
    data: dict | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def refused(self) -> bool:
        return self.status is not None and 400 <= self.status < 500 and self.status != 401


class _Retry(Exception):
    pass


class Client:
    """Sends one step of a transfer to its neighbour (retried on connection errors and 5xx, bounded)."""

    def __init__(self, timeout=TIMEOUT, attempts: int = ATTEMPTS, session: requests.Session | None = None):
        self.timeout, self.attempts = timeout, attempts
        self.session = session or requests.Session()

    def request(self, node: TrunkwardNode, method: str, path: str, last_hash: str, body: dict | None = None,
                trace: str = "") -> Answer:
        """One authenticated request to `node` at head `last_hash` (`path` below its base URL)."""
        raw = b"" if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {**node.outgoing_headers(last_hash), "cc-node-trace": f"{trace}{node.name}>",
                   SIGNATURE_HEADER: node.signature(method, path, last_hash, raw)}

        def once() -> Answer:
            try:
                response = self.session.request(method, node.url + path, data=raw or None, headers=headers,
                                                timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout, socket.timeout) as exc:
                raise _Retry(str(exc)) from exc
            if response.status_code >= 500:
                raise _Retry(f"{response.status_code}: {response.text[:200]}")
            return _answer(response)

        try:
            for attempt in Retrying(retry=retry_if_exception_type(_Retry), stop=stop_after_attempt(self.attempts),
                                    wait=wait_random_exponential(multiplier=0.1, max=1.0), reraise=True):
                with attempt:
                    return once()
        except _Retry as exc:
            return Answer(None, str(exc))
        raise AssertionError("unreachable")

    def send(self, node: TrunkwardNode, t) -> Answer:
        """The transfer's pending step: the relay (V) or a state change, at the head stored with the step."""
        if t.step.state == "V":
            return self.request(node, "POST", "transaction/relay", t.step.prev, t.body)
        return self.request(node, "PATCH", f"transaction/{t.uuid}/{t.step.state}", t.step.prev)


def _answer(response: requests.Response) -> Answer:
    try:
        data = response.json()
    except ValueError:
        data = None
    message = ""
    if isinstance(data, dict) and isinstance(data.get("errors"), list) and data["errors"]:
        message = str(data["errors"][0])
    return Answer(response.status_code, message or response.reason or "", data if isinstance(data, dict) else None)


class LockBusy(RuntimeError):
    """Another thread or process is talking to this neighbour."""


@contextmanager
def neighbour_lock(db, neighbour_id: str, wait: float = 10.0):
    """One request at a time per neighbour across this node's processes (a lease in MongoDB that a crashed holder
    loses after LOCK_TTL)."""
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuidlib.uuid4().hex[:8]}"
    deadline = time.monotonic() + wait
    while True:
        now = utcnow()
        try:
            got = db[LOCKS].find_one_and_update(
                {"_id": neighbour_id, "$or": [{"until": {"$lte": now}}, {"owner": None}]},
                {"$set": {"owner": owner, "until": now + LOCK_TTL}}, upsert=True,
                return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:  # held by someone else (the upsert found no free lease)
            got = None
        if got is not None and got.get("owner") == owner:
            break
        if time.monotonic() > deadline:
            raise LockBusy(neighbour_id)
        time.sleep(0.02)
    try:
        yield
    finally:
        db[LOCKS].update_one({"_id": neighbour_id, "owner": owner}, {"$set": {"owner": None}})
