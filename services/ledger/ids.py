"""Ids and hashes the ledger derives: transfer ids from source facts, pay code hashes, Idempotency-Key scopes."""
from __future__ import annotations

import hashlib

from shared.idempotency import record_id
from services.ledger.model import Actor

PAY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud at a till
PAY_CODE_LENGTH = 8


def source_transfer_id(source: str) -> str:
    """The transfer id for a transfer created by an event fact: the same fact always gives the same id."""
    return "t_" + hashlib.sha256(source.encode()).hexdigest()[:32]


def pay_code_hash(code: str) -> str:
    """sha256 of a pay code as typed (case and spaces ignored)."""
    return hashlib.sha256(code.strip().upper().replace(" ", "").encode()).hexdigest()


def key_scope(actor: Actor, scope: str) -> str:
    """Where an Idempotency-Key of `actor` lives. Keys are per caller: two residents may pick the same key
    without seeing each other's answers."""
    return f"ledger:{actor.community_id}:{actor.member_id}:{scope}"


def key_id(actor: Actor, scope: str, key: str | None) -> str | None:
    """The id of the Idempotency-Key record, so it can be read together with the command's documents."""
    return record_id(key_scope(actor, scope), key) if key is not None else None
