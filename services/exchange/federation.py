"""Federation with other deployments (Credit Commons 0.9 dialect): grafting onto a trunkward node and the
`cc-node` / `last-hash` authentication of its requests. Pure rules, no I/O.

A deployment is a node. Per unit it can be grafted onto one trunkward node (another deployment, or a district
hub running the same software): the peer's node path, our own path below it, the peer's base URL, the
conversion rate (trunkward quantity = local quantity × rate) and the initial last-hash both operators agreed
on. Every request from the trunkward node must name it in `cc-node` and carry the current head of our shared
hash chain in `last-hash` (see `hashchain.py`); the checks and messages are those of Komunitin, the one peer
with tests, so other implementations see the answers they expect."""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Mapping
from urllib.parse import urlsplit

from shared.errors import Unprocessable

UNITS = ("HOUR", "PT")
SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_RATE_PLACES = 9
NOT_GRAFTED = "This currency has not (yet) been grafted onto any CreditCommons tree."
RELATIONS = ("trunkward", "leafward")
SIGNATURE_HEADER = "cc-signature"
MAX_SECRET = 256


class CcUnauthorized(Exception):
    """A request from a node that failed the last-hash authentication (401, body {"errors": [message]})."""

    status = 401

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _path(value: str, what: str) -> str:
    segments = (value or "").strip("/").split("/")
    if not value or not all(SEGMENT.match(s) for s in segments):
        raise Unprocessable(f"{what} 节点路径格式不正确。 "
                            f"{what} is a node path like trunk/district/node (letters, digits, _ . -).",
                            code="bad_node_path")
    return "/".join(segments)


def check_rate(rate: str) -> str:
    """A conversion rate: a positive decimal with at most 9 places, kept as its canonical text."""
    try:
        value = Decimal(str(rate))
    except (InvalidOperation, ValueError):
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0 or -value.normalize().as_tuple().exponent > MAX_RATE_PLACES \
            or value > 10**9:
        raise Unprocessable("兑换比率须为正的小数（最多 9 位小数）。 "
                            "The conversion rate is a positive decimal (at most 9 places), e.g. \"1\" or \"0.1\".",
                            code="bad_rate")
    return format(value.normalize(), "f")


def check_url(url: str) -> str:
    """The peer's base URL, http(s), ending with `/` (the protocol's paths are appended to it)."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise Unprocessable("对方节点地址不正确，须为 http(s) 网址。 "
                            "The peer URL is an http(s) base URL, e.g. https://hub.example/cc/HOUR/.", code="bad_url")
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
    # A neighbour is our trunkward node (we convert: trunkward quantity = local × rate) or a leafward one grafted
    # onto us (quantities on the wire are in our unit; it converts). Both operators set the same secret, which
    # signs every request between the two (HMAC-SHA256, `cc-signature`) besides the hash chain.
    relation: str = "trunkward"
    secret: str = ""
    # The net position with this neighbour in our local unit (> 0: our members paid out more than they received)
    # and its limit; `pending_out` / `pending_in` hold the transfers under way (validated or pending).
    net_limit: int = 0
    net: int = 0
    pending_out: int = 0
    pending_in: int = 0
    last_step: dict | None = None  # the chain's latest step {uuid, state, prev}: a repeat of it may come at `prev`

    @classmethod
    def graft(cls, unit: str, peer_node_path: str, our_node_path: str, url: str, rate: str, last_hash: str,
              at: datetime, relation: str = "trunkward", secret: str = "", net_limit: int = 0) -> "TrunkwardNode":
        """A checked graft: our path is one level below the peer's (a leafward neighbour's path is one level below
        ours); the initial hash and the secret are agreed out of band."""
        if unit not in UNITS:
            raise Unprocessable(f"未知单位 {unit!r}，请用 HOUR 或 PT。 Unknown unit {unit!r}; use HOUR or PT.",
                                code="unknown_unit")
        if relation not in RELATIONS:
            raise Unprocessable("节点关系须为上级或下级。 relation is trunkward or leafward.", code="bad_relation")
        peer, ours = _path(peer_node_path, "peer_node_path"), _path(our_node_path, "our_node_path")
        upper, lower = (peer, ours) if relation == "trunkward" else (ours, peer)
        if lower.rsplit("/", 1)[0] != upper or "/" not in lower:
            raise Unprocessable("本节点路径须位于对方节点之下。 "
                                "our_node_path must be the peer's path plus our node name, e.g. trunk/lianhua (a "
                                "leafward peer's path is ours plus its name).",
                                code="bad_node_path")
        if not last_hash or len(last_hash) > 128 or not last_hash.isprintable():
            raise Unprocessable("初始哈希不正确，须为双方运维约定的 1-128 个可打印字符。 "
                                "The initial last-hash is the value both operators agreed (1-128 printable "
                                "characters).", code="bad_last_hash")
        if len(secret) > MAX_SECRET or (secret and (len(secret) < 16 or not secret.isprintable())):
            raise Unprocessable("节点密钥须为 16-256 个可打印字符。 "
                                "The node secret is 16-256 printable characters both operators set.", code="bad_secret")
        if not isinstance(net_limit, int) or isinstance(net_limit, bool) or net_limit < 0:
            raise Unprocessable("净额上限须为非负整数。 net_limit is a whole number ≥ 0 in this deployment's unit.",
                                code="bad_net_limit")
        return cls(unit, peer, ours, check_url(url), check_rate(rate), last_hash, at, relation, secret, net_limit)

    @property
    def node_id(self) -> str:
        """The stored id: one trunkward node per unit, any number of leafward ones (by name)."""
        return f"trunkward:{self.unit}" if self.relation == "trunkward" else f"leafward:{self.unit}:{self.peer_name}"

    def to_wire(self, amount: int) -> Decimal:
        """A local amount as the quantity on the wire: in the trunkward node's unit (× rate, exact) when the peer
        is trunkward; in our own unit when it is leafward (the leafward node converts)."""
        return Decimal(amount) * Decimal(self.rate) if self.relation == "trunkward" else Decimal(amount)

    def from_wire(self, quant) -> int:
        """A quantity received as a local whole amount: ÷ rate from the trunkward node, rounded down (stated by the
        payer, rounded against the payee as in shared/crossrate.py); as is from a leafward node (also floored)."""
        value = Decimal(str(quant)) / Decimal(self.rate) if self.relation == "trunkward" else Decimal(str(quant))
        return int(value.quantize(Decimal(1), rounding=ROUND_FLOOR))

    def headroom(self, direction: str) -> int:
        """What one more transfer may move the net position by without passing the limit, counting the transfers
        under way in that direction (out: our members pay; in: they receive)."""
        exposure = self.net + self.pending_out if direction == "out" else -(self.net - self.pending_in)
        return max(self.net_limit - exposure, 0)

    @property
    def name(self) -> str:
        """Our node's name (the last segment of our path), sent as `cc-node` when we call the peer."""
        return self.our_node_path.rsplit("/", 1)[-1]

    @property
    def peer_name(self) -> str:
        """The peer's name (the last segment of its path)."""
        return self.peer_node_path.rsplit("/", 1)[-1]

    def outgoing_headers(self, last_hash: str | None = None) -> dict:
        """The headers of a request we make to the neighbour (`last_hash`: the head the request is made at)."""
        return {"cc-node": self.name, "last-hash": last_hash or self.last_hash, "Content-Type": "application/json"}

    def signature(self, method: str, path: str, last_hash: str, body: bytes = b"") -> str:
        """HMAC-SHA256 with the node secret over the method, the path below the peer's base URL, the last-hash and
        the body: what `cc-signature` carries."""
        message = b"\n".join([method.upper().encode(), path.encode("utf-8"), last_hash.encode("utf-8"), body])
        return hmac.new(self.secret.encode("utf-8"), message, hashlib.sha256).hexdigest()

    def check_signature(self, headers: Mapping[str, str], method: str, path: str, body: bytes) -> None:
        """Refuse (401) a request whose `cc-signature` is not ours for it (the node secret; after the last-hash)."""
        if not self.secret:
            return
        given = headers.get(SIGNATURE_HEADER) or ""
        expected = self.signature(method, path, headers.get("last-hash") or "", body)
        if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8")):
            raise CcUnauthorized(f"{SIGNATURE_HEADER} 请求头与节点密钥不符。 "
                                 f"{SIGNATURE_HEADER} header does not match the node secret.")


def authenticate(headers: Mapping[str, str], node, replay_of: str | None = None) -> TrunkwardNode:
    """The grafted node a request comes from, or CcUnauthorized (Komunitin's order and messages).

    `node` is the one graft of the unit, or the list of its neighbours (trunkward and leafward). `cc-node` may be
    the peer's full path or its name: Komunitin compares with the full path only, which refuses any peer below
    the root (a known bug we do not copy). `replay_of`: a head the caller may also present, the one before our
    latest chain step, when the request repeats that very step (an answer lost on the way back)."""
    nodes = [n for n in (node if isinstance(node, (list, tuple)) else [node]) if n is not None]
    caller = headers.get("cc-node")
    if not caller:
        raise CcUnauthorized("cc-node header is required.")
    given = headers.get("last-hash")
    if not given:
        raise CcUnauthorized("last-hash header is required.")
    if not nodes:
        raise CcUnauthorized(NOT_GRAFTED)
    found = next((n for n in nodes if caller in (n.peer_node_path, n.peer_name)), None)
    if found is None:
        raise CcUnauthorized(f'cc-node "{caller}" is not our trunkward node.')
    accepted = [found.last_hash] + ([replay_of] if replay_of else [])
    if not any(hmac.compare_digest(given.encode("utf-8", "replace"), h.encode("utf-8")) for h in accepted):
        raise CcUnauthorized(f'value of last-hash header "{given}" does not match our records.')
    return found


def response_trace(request_trace: str | None, node: TrunkwardNode) -> str:
    """The `cc-node-trace` answered: the request's hops, then `<` and our name (the notes' reading of it)."""
    return f"{request_trace or ''}<{node.name}"
