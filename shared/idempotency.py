"""Idempotency-Key handling for money-moving POSTs, inside the same transaction as the change."""
from __future__ import annotations

import hashlib
import json
from types import MappingProxyType
from typing import Callable

from flask import request
from pymongo import InsertOne

from shared.errors import BadRequest, Conflict
from shared.mongo import utcnow

KEYS = "idempotency_keys"


def key_from_request() -> str | None:
    """The Idempotency-Key header, validated (printable, at most 200 characters)."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > 200 or not key.isprintable():
        raise BadRequest("Idempotency-Key 须为 1 到 200 个可打印字符。 "
                         "Idempotency-Key must be 1 to 200 printable characters.", code="bad_idempotency_key")
    return key


def fingerprint(body) -> str:
    """A stable hash of a request body."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


UNREAD = object()  # default of `once(stored=...)`: the record was not read by the caller


def record_id(scope: str, key: str) -> str:
    """The _id of the record that remembers (scope, key) in the KEYS collection."""
    return f"{scope}:{key}"


def replay(tx, scope: str, key: str | None, body, stored=UNREAD) -> tuple[dict, int] | None:
    """The first answer (response, status) given to (scope, key), or None when there is none yet; the key used
    with another body is a 409. A request done in several transactions (a bulk import) asks this first and
    records its answer with `once` at the end."""
    if key is None:
        return None
    rid = record_id(scope, key)
    if (KEYS, rid) in tx.cache:
        stored = tx.cache[(KEYS, rid)]
    elif stored is UNREAD:
        stored = tx[KEYS].find_one({"_id": rid})
    if not stored:
        return None
    if stored["fingerprint"] != fingerprint(body):
        raise Conflict("这个 Idempotency-Key 已用于另一个不同的请求。 "
                       "This Idempotency-Key was already used with a different request body.",
                       code="idempotency_key_reused")
    return stored["response"], stored["status"]


def once(tx, scope: str, key: str | None, body, compute: Callable[[], tuple[dict, int]],
         stored=UNREAD) -> tuple[dict, int]:
    """Run compute() once per (scope, key): a replay returns the first answer; another body is a 409.

    `stored` is the key's record (or None) when the caller already read it in this same transaction
    (e.g. together with the documents the command needs, in one round trip); by default it is read here.
    The record is written with the transaction's other deferred writes, and kept in its identity map, so a
    second use of the key within the same transaction (a group commit) gets the first answer too."""
    if key is None:
        return compute()
    first = replay(tx, scope, key, body, stored)
    if first is not None:
        return first
    rid = record_id(scope, key)
    digest = fingerprint(body)
    response, status = compute()
    record = {"_id": rid, "fingerprint": digest, "response": response, "status": status, "created_at": utcnow()}
    tx.cache[(KEYS, rid)] = MappingProxyType(record)  # the identity map holds read-only values
    tx.defer(KEYS, InsertOne(record))
    return response, status


def ensure_indexes(db) -> None:
    """Keys are kept for 7 days, long past any client retry."""
    db[KEYS].create_index("created_at", expireAfterSeconds=7 * 24 * 3600)
