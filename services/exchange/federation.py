"""Federation with other deployments (Credit Commons 0.9 dialect): grafting onto a trunkward node and the
`cc-node` / `last-hash` authentication of its requests. Pure rules, no I/O.

A deployment is a node. Per unit it can be grafted onto one trunkward node (another deployment, or a district
hub running the same software): the peer's node path, our own path below it, the peer's base URL, the
conversion rate (trunkward quantity = local quantity × rate) and the initial last-hash both operators agreed
on. Every request from the trunkward node must name it in `cc-node` and carry the current head of our shared
hash chain in `last-hash` (see `hashchain.py`); the checks and messages are those of Komunitin, the one peer
with tests, so other implementations see the answers they expect."""
from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Mapping
from urllib.parse import urlsplit

from shared.errors import Unprocessable

UNITS = ("HOUR", "PT")
SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_RATE_PLACES = 9
NOT_GRAFTED = "This currency has not (yet) been grafted onto any CreditCommons tree."


class CcUnauthorized(Exception):
    """A request from a node that failed the last-hash authentication (401, body {"errors": [message]})."""

    status = 401

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _path(value: str, what: str) -> str:
    segments = (value or "").strip("/").split("/")
    if not value or not all(SEGMENT.match(s) for s in segments):
        raise Unprocessable(f"{what} is a node path like trunk/district/node (letters, digits, _ . -). "
                            "节点路径格式不正确。", code="bad_node_path")
    return "/".join(segments)


def check_rate(rate: str) -> str:
    """A conversion rate: a positive decimal with at most 9 places, kept as its canonical text."""
    try:
        value = Decimal(str(rate))
    except (InvalidOperation, ValueError):
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0 or -value.normalize().as_tuple().exponent > MAX_RATE_PLACES \
            or value > 10**9:
        raise Unprocessable("The conversion rate is a positive decimal (at most 9 places), e.g. \"1\" or \"0.1\". "
                            "兑换比率须为正的小数。", code="bad_rate")
    return format(value.normalize(), "f")


def check_url(url: str) -> str:
    """The peer's base URL, http(s), ending with `/` (the protocol's paths are appended to it)."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise Unprocessable("The peer URL is an http(s) base URL, e.g. https://hub.example/cc/HOUR/. "
                            "对方节点地址不正确。", code="bad_url")
    return url if url.endswith("/") else url + "/"


@dataclass
class TrunkwardNode:
    """Our graft onto a trunkward node, for one unit."""

    unit: str
    peer_node_path: str
    our_node_path: str
    url: str
    rate: str
    last_hash: str
    grafted_at: datetime | None = None

    @classmethod
    def graft(cls, unit: str, peer_node_path: str, our_node_path: str, url: str, rate: str, last_hash: str,
              at: datetime) -> "TrunkwardNode":
        """A checked graft: our path is one level below the peer's; the initial hash is agreed out of band."""
        if unit not in UNITS:
            raise Unprocessable(f"Unknown unit {unit!r}; use HOUR or PT. 未知单位。", code="unknown_unit")
        peer, ours = _path(peer_node_path, "peer_node_path"), _path(our_node_path, "our_node_path")
        if ours.rsplit("/", 1)[0] != peer or "/" not in ours:
            raise Unprocessable("our_node_path must be the peer's path plus our node name, e.g. trunk/lianhua. "
                                "本节点路径须位于对方节点之下。", code="bad_node_path")
        if not last_hash or len(last_hash) > 128 or not last_hash.isprintable():
            raise Unprocessable("The initial last-hash is the value both operators agreed (1-128 printable "
                                "characters). 初始哈希不正确。", code="bad_last_hash")
        return cls(unit, peer, ours, check_url(url), check_rate(rate), last_hash, at)

    @property
    def name(self) -> str:
        """Our node's name (the last segment of our path), sent as `cc-node` when we call the peer."""
        return self.our_node_path.rsplit("/", 1)[-1]

    @property
    def peer_name(self) -> str:
        """The peer's name (the last segment of its path)."""
        return self.peer_node_path.rsplit("/", 1)[-1]

    def outgoing_headers(self) -> dict:
        """The headers of a request we make to the trunkward node."""
        return {"cc-node": self.name, "last-hash": self.last_hash, "Content-Type": "application/json"}


def authenticate(headers: Mapping[str, str], node: TrunkwardNode | None) -> TrunkwardNode:
    """The grafted node a request comes from, or CcUnauthorized (Komunitin's order and messages).

    `cc-node` may be the peer's full path or its name: Komunitin compares with the full path only, which
    refuses any peer below the root (a known bug we do not copy)."""
    caller = headers.get("cc-node")
    if not caller:
        raise CcUnauthorized("cc-node header is required.")
    given = headers.get("last-hash")
    if not given:
        raise CcUnauthorized("last-hash header is required.")
    if node is None:
        raise CcUnauthorized(NOT_GRAFTED)
    if caller not in (node.peer_node_path, node.peer_name):
        raise CcUnauthorized(f'cc-node "{caller}" is not our trunkward node.')
    if not hmac.compare_digest(given.encode("utf-8", "replace"), node.last_hash.encode("utf-8")):
        raise CcUnauthorized(f'value of last-hash header "{given}" does not match our records.')
    return node


def response_trace(request_trace: str | None, node: TrunkwardNode) -> str:
    """The `cc-node-trace` answered: the request's hops, then `<` and our name (the notes' reading of it)."""
    return f"{request_trace or ''}<{node.name}"
