"""The ledger's domain: accounts, the transfer state machine, journal entries and their hash chain.

Pure Python, no I/O. Amounts are integers (minutes for HOUR, points for PT).
"""
from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.errors import Conflict, Forbidden, Unprocessable

UNITS = ("HOUR", "PT")
WORKFLOWS = ("bill", "credit", "award", "redeem", "system")
PENDING, POSTED, REJECTED, CANCELLED, EXPIRED = "pending", "posted", "rejected", "cancelled", "expired"
STATES = (PENDING, POSTED, REJECTED, CANCELLED, EXPIRED)
SYSTEM_ACCOUNTS = ("issuance", "expiry", "penalty", "fees", "sponsor")
VERIFIER_ROLES = ("organizer", "grid_worker")
# Who may confirm or reject an award claim (a held ≤ 2★ award included): verifiers and the community's admins.
AWARD_REVIEWER_ROLES = (*VERIFIER_ROLES, "admin")
GENESIS = "0" * 64
DEFAULT_PENDING_TTL_DAYS = 14
DEFAULT_HOUR_CREDIT_LIMIT = 600  # minutes: a member's HOUR account opens with 10 hours of mutual credit
MAX_AMOUNT = 10**12  # far above any real balance; keeps amounts inside 64-bit integers

# Hot accounts. A community's `issuance` account is debited by every award. Keeping its running
# balance and hash chain on one document makes every award transaction write that document, so
# concurrent awards hit MongoDB write conflicts and are retried one after another (measured in
# bench/ledger_bench.py). `issuance` has no limit (it may go negative), so no award needs to read
# its balance: we split the account into SHARDS sub-accounts, each with its own running balance,
# pending reservation and hash chain. A transfer always uses the shard picked by its id, so the
# reservation made at creation is released on the same shard at posting. Balance = sum of shards;
# the audit verifies each shard's chain. Accounts with a limit are never sharded: a limit check
# needs one authoritative balance.
HOT_SHARDS = 32
SHARDED_SYSTEM_ACCOUNTS = ("issuance",)


def member_account_id(community_id: str, member_id: str, unit: str) -> str:
    """The id of a member's account in `unit`."""
    return f"m:{community_id}:{member_id}:{unit}"


def parse_member_account_id(account_id: str) -> tuple[str, str, str] | None:
    """(community_id, member_id, unit) of a member account id, or None if it is not one."""
    parts = account_id.split(":")
    if len(parts) == 4 and parts[0] == "m" and all(parts[1:3]) and parts[3] in UNITS:
        return parts[1], parts[2], parts[3]
    return None


def system_account_id(community_id: str, name: str, unit: str) -> str:
    """The id of a community system account (issuance, expiry, penalty, fees, sponsor)."""
    return f"s:{community_id}:{name}:{unit}"


def merchant_account_id(community_id: str, merchant_id: str) -> str:
    """The id of a merchant's points account."""
    return f"x:{community_id}:{merchant_id}:PT"


def partner_account_id(community_id: str, partner_id: str, unit: str) -> str:
    """The id of the clearing account this community keeps for a partner community."""
    return f"p:{community_id}:{partner_id}:{unit}"


def shard_of(transfer_id: str, shards: int) -> int:
    """The shard of a sharded account that a transfer uses (stable for the transfer's life)."""
    return zlib.crc32(transfer_id.encode()) % shards


def evolve(obj, **changes):
    """A copy of a frozen dataclass instance with `changes`: dataclasses.replace without re-running __init__
    field by field (measured: the aggregates' copies were most of the Python calls of a transfer). Only for
    the classes here, which have no __post_init__ or InitVar; an unknown field is still an error."""
    if not changes.keys() <= obj.__dict__.keys():
        raise TypeError(f"{type(obj).__name__} has no field {sorted(changes.keys() - obj.__dict__.keys())}")
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    new.__dict__.update(changes)
    return new


class Book:
    """A running balance and the head of a hash chain: an unsharded account, or one shard of a hot account.

    The aggregates are immutable (the unit of work's identity map holds them): every change returns the
    changed book. Subclasses have `posted`, `pending_out`, `pending_in`, `seq`, `last_hash` and
    `credit_limit` (None = unlimited)."""

    posted: int
    pending_out: int
    pending_in: int
    seq: int
    last_hash: str
    credit_limit: int | None

    @property
    def key(self) -> tuple[str, int | None]:
        """(account_id, shard): how a transfer names the book it moves."""
        raise NotImplementedError

    @property
    def unlimited(self) -> bool:
        """Whether the book may go negative without bound."""
        return self.credit_limit is None

    @property
    def available(self) -> int | None:
        """posted − pending debits + credit limit (None when unlimited)."""
        if self.unlimited:
            return None
        return self.posted - self.pending_out + self.credit_limit

    def can_reserve(self, amount: int) -> bool:
        """Whether a new pending debit of `amount` fits the available balance."""
        return self.unlimited or self.available >= amount

    def can_post(self, amount: int, reserved: int) -> bool:
        """Whether posting a debit of `amount` (of which `reserved` is already held) keeps the limit."""
        if self.unlimited:
            return True
        return self.posted - amount - (self.pending_out - reserved) + self.credit_limit >= 0

    def holding(self, amount: int):
        """The book with `amount` more held for a pending debit (the caller checked can_reserve)."""
        return evolve(self, pending_out=self.pending_out + amount)

    def expecting(self, amount: int):
        """The book with `amount` more of pending credit noted."""
        return evolve(self, pending_in=self.pending_in + amount)

    def released(self, held: int = 0, expected: int = 0):
        """The book without a pending transfer's hold (`held`) and pending credit (`expected`)."""
        return evolve(self, pending_out=self.pending_out - held, pending_in=self.pending_in - expected)

    def appended(self, t: "Transfer", side: str, amount: int, now: datetime, *, leg: int = 0,
                 counter_account: str | None = None, held: int = 0, expected: int = 0) -> tuple["Book", dict]:
        """Append the entry of `side` of `t`'s leg `leg` (`amount`, against `counter_account`) to this book's
        chain, which gives it its seq and hash: (the moved book, the entry). `held` / `expected` is what the
        pending transfer held or noted here, released as it posts."""
        account_id, shard = self.key
        entry = make_entry(t, side, shard or 0, self.seq + 1, self.last_hash, now, account_id=account_id,
                           amount=amount, leg=leg, counter_account=counter_account,
                           community_id=t.community_of("payee") if leg else t.community_id)
        if shard is None:  # one authoritative balance: the entry shows it
            entry["balance_after"] = self.posted + entry["delta"]
        moved = evolve(self, posted=self.posted + entry["delta"], seq=self.seq + 1, last_hash=entry["hash"],
                        pending_out=self.pending_out - held, pending_in=self.pending_in - expected)
        return moved, entry


@dataclass(frozen=True)
class Account(Book):
    """One account: running posted balance, reservations and the head of its hash chain (a hot account's
    balance and chain live in its shards instead: `shards` > 0, see Shard)."""

    account_id: str
    community_id: str
    kind: str  # member | system | merchant | partner
    owner_id: str
    unit: str
    posted: int = 0
    pending_out: int = 0
    pending_in: int = 0
    credit_limit: int | None = 0  # None = unlimited (issuance)
    status: str = "active"
    shards: int = 0  # > 0: balance and chain live in shard documents
    seq: int = 0
    last_hash: str = GENESIS
    auto_accept_credits: bool = False  # the owner accepts gifts (`credit`) without confirming each one

    @property
    def key(self) -> tuple[str, None]:
        return self.account_id, None

    def check_new_limit(self, limit: int) -> None:
        """An admin may lower a limit only as far as the account's current use allows."""
        if limit < 0 or limit > MAX_AMOUNT:
            raise Unprocessable("信用额度须为非负整数。 A credit limit is a non-negative integer.", code="bad_credit_limit")
        if self.unlimited or self.kind == "system":
            raise Unprocessable("系统账户的额度是固定的。 System accounts have fixed limits.", code="system_account")
        if self.posted - self.pending_out + limit < 0:
            raise Unprocessable("该账户已用的信用超过了这个额度。 The account already uses more credit than this limit.",
                                code="limit_below_use")

    def with_limit(self, limit: int) -> "Account":
        """The account with a new credit limit (checked: check_new_limit)."""
        self.check_new_limit(limit)
        return evolve(self, credit_limit=limit)

    def shard_of(self, transfer_id: str) -> int | None:
        """The shard a transfer uses on this account (None: the account is its own book)."""
        return shard_of(transfer_id, self.shards) if self.shards else None

    def new_shards(self) -> list["Shard"]:
        """The empty shards of a hot account as it opens."""
        return [Shard(self.account_id, k) for k in range(self.shards)]


def member_of(community_id: str, member_id: str, unit: str, credit_limit: int = 0) -> Account:
    """A member's account in `unit` as it opens (not stored)."""
    return Account(member_account_id(community_id, member_id, unit), community_id, "member", member_id, unit,
                   credit_limit=credit_limit)


def merchant_of(community_id: str, merchant_id: str) -> Account:
    """A merchant's points account as it opens (not stored)."""
    return Account(merchant_account_id(community_id, merchant_id), community_id, "merchant", merchant_id, "PT")


def system_of(community_id: str, name: str, unit: str) -> Account:
    """A community system account as it opens (not stored); `issuance` is unlimited and sharded (hot)."""
    hot = name in SHARDED_SYSTEM_ACCOUNTS
    return Account(system_account_id(community_id, name, unit), community_id, "system", name, unit,
                   credit_limit=None if name == "issuance" else 0, shards=HOT_SHARDS if hot else 0)


@dataclass(frozen=True)
class Shard(Book):
    """One shard of a hot (unlimited) account: its own running balance, reservations and hash chain."""

    account_id: str
    shard: int
    posted: int = 0
    pending_out: int = 0
    pending_in: int = 0
    seq: int = 0
    last_hash: str = GENESIS
    credit_limit: None = None  # only unlimited accounts are sharded

    @property
    def key(self) -> tuple[str, int]:
        return self.account_id, self.shard


@dataclass(frozen=True)
class Leg:
    """One move of a posted transfer inside one community: `amount` from a debit book to a credit book. A
    two-party transfer has one leg; a cross-community transfer will have two (payer → clearing account,
    clearing account → payee, of different amounts), posted together by the same Transfer.post."""

    debit: tuple[str, int | None]
    credit: tuple[str, int | None]
    amount: int


@dataclass(frozen=True)
class Actor:
    """Who acts on a transfer: a member of a community with roles (merchant staff carry their merchant)."""

    member_id: str
    community_id: str
    roles: tuple = ()
    merchant_id: str | None = None

    def has_role(self, *roles: str) -> bool:
        """Whether the actor holds any of `roles`."""
        return any(r in self.roles for r in roles)


@dataclass(frozen=True)
class Transfer:
    """A move of `amount` of `unit` from `debit_account` to `credit_account`, and where it stands."""

    transfer_id: str
    community_id: str
    workflow: str
    unit: str
    amount: int
    debit_account: str
    credit_account: str
    payer_id: str | None
    payee_id: str | None
    initiator_id: str
    state: str = PENDING
    reason: str | None = None
    reference: dict | None = None
    memo: str | None = None
    reserved: int = 0  # how much of the payer's available balance this pending transfer holds
    debit_shard: int | None = None
    credit_shard: int | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    source: str | None = None  # the event fact that created it, e.g. "claim:<claim_id>"
    details: dict = field(default_factory=dict)
    # A cross-community transfer's terms (services/ledger/cross.py: `CrossTerms.as_dict`): the payer in
    # `community_id`, the payee in `cross["payee_community"]`, both amounts, the rate and the clearing accounts.
    cross: dict | None = None

    # -- the communities it touches ----------------------------------------------------------
    def communities(self) -> tuple[str, ...]:
        """The community of the payer (the transfer's), and the payee's when it is another one."""
        return (self.community_id, self.cross["payee_community"]) if self.cross else (self.community_id,)

    def community_of(self, role: str) -> str:
        """The community of the `payer`, `payee`, `initiator` or `confirmer` (all the same inside one)."""
        if not self.cross:
            return self.community_id
        if role in ("initiator", "confirmer"):
            stated = "payer" if self.workflow == "credit" else "payee"
            role = stated if role == "initiator" else ("payee" if stated == "payer" else "payer")
        return self.community_id if role == "payer" else self.cross["payee_community"]

    def _is(self, actor: "Actor", role: str, member_id: str | None) -> bool:
        return member_id is not None and (actor.community_id, actor.member_id) == (self.community_of(role), member_id)

    # -- who may do what ---------------------------------------------------------------
    def confirmer_id(self) -> str | None:
        """The member who must confirm (None for awards, confirmed by a verifier role, and system moves)."""
        return {"bill": self.payer_id, "credit": self.payee_id, "redeem": self.payer_id}.get(self.workflow)

    def may_resolve(self, actor: Actor) -> bool:
        """Whether `actor` is the counterparty who may confirm or reject (across communities: the member of the
        other community the transfer names, nobody else)."""
        if self.cross:
            return self._is(actor, "confirmer", self.confirmer_id())
        if actor.community_id != self.community_id or actor.member_id == self.initiator_id:
            return False
        if self.workflow == "award":
            return actor.has_role(*AWARD_REVIEWER_ROLES) and actor.member_id != self.payee_id
        confirmer = self.confirmer_id()
        return confirmer is not None and actor.member_id == confirmer

    def may_cancel(self, actor: Actor) -> bool:
        """Only the initiator (for a redemption: staff of the charging merchant) may cancel."""
        if self.cross:
            return self._is(actor, "initiator", self.initiator_id)
        if actor.community_id != self.community_id or self.workflow == "system":
            return False
        if actor.member_id == self.initiator_id:
            return True
        return self.workflow == "redeem" and actor.merchant_id is not None and actor.merchant_id == self.payee_id

    def may_see(self, actor: Actor) -> bool:
        """Parties, the merchant's staff, verifiers of awards and community admins see a transfer (across
        communities: the two parties and the admins of either community)."""
        if self.cross:
            return (self._is(actor, "payer", self.payer_id) or self._is(actor, "payee", self.payee_id)
                    or (actor.has_role("admin") and actor.community_id in self.communities()))
        if actor.community_id != self.community_id:
            return False
        if actor.member_id in (self.payer_id, self.payee_id, self.initiator_id) or actor.has_role("admin"):
            return True
        if self.workflow == "award" and actor.has_role(*VERIFIER_ROLES):
            return True
        return actor.merchant_id is not None and actor.merchant_id in (self.payee_id, self.payer_id)

    # -- the state machine ---------------------------------------------------------------
    def is_lapsed(self, now: datetime) -> bool:
        """A pending transfer whose TTL has run out (expired even if the scheduler has not run yet)."""
        return self.state == PENDING and self.expires_at is not None and now >= self.expires_at

    def _check_open(self, now: datetime, target: str) -> bool:
        """True when the move must be applied, False when it is a replay of the same resolution."""
        if self.state == target:
            return False
        if self.state == EXPIRED or self.is_lapsed(now):
            raise Conflict("这笔转账已过期。 This transfer has expired.", code="transfer_expired")
        if self.state != PENDING:
            raise Conflict(f"这笔转账已经处理过了（{self.state}）。 "
                           f"This transfer is already {self.state}.", code="transfer_resolved", state=self.state)
        return True

    def confirm(self, actor: Actor, now: datetime) -> bool:
        """Check a confirmation; True if it must post now, False if it was already posted (no-op)."""
        if not self.may_resolve(actor):
            raise Forbidden(_why_not(self, actor, "confirm"), code="not_counterparty")
        return self._check_open(now, POSTED)

    def reject(self, actor: Actor, now: datetime) -> bool:
        """Check a rejection; True if it must be applied, False if already rejected."""
        if not self.may_resolve(actor):
            raise Forbidden(_why_not(self, actor, "reject"), code="not_counterparty")
        return self._check_open(now, REJECTED)

    def cancel(self, actor: Actor, now: datetime) -> bool:
        """Check a cancellation by the initiator; True if it must be applied, False if already cancelled."""
        if not self.may_cancel(actor):
            raise Forbidden("只有发起人可以取消这笔转账。 "
                            "Only the one who created this transfer can cancel it.", code="not_initiator")
        return self._check_open(now, CANCELLED)

    def resolved(self, state: str, by: str | None, now: datetime, reason: str | None = None) -> "Transfer":
        """A copy in its final `state`, reservations released."""
        if self.state != PENDING:
            raise Conflict(f"这笔转账已经处理过了（{self.state}）。 "
                           f"This transfer is already {self.state}.", code="transfer_resolved")
        return evolve(self, state=state, resolved_by=by, resolved_at=now, reserved=0,
                       reason=reason if reason is not None else self.reason)

    # -- balances: what the transfer does to the books it names -------------------------------------
    # Everything below works on legs: the payer's hold is the first leg's amount on its debit book, the
    # payee's pending credit the last leg's amount on its credit book. A cross-community transfer only has to
    # give two legs (payer → clearing of `debit_amount`, clearing → payee of `credit_amount`).
    def legs(self) -> tuple[Leg, ...]:
        """The moves posting makes (one for a transfer inside one community; across communities two, each inside
        one community: payer → the payer community's clearing account for the other of `debit_amount`, the
        payee community's clearing account → payee of `credit_amount`)."""
        if self.cross:
            c = self.cross
            return (Leg((self.debit_account, self.debit_shard), (c["payer_clearing_account"], None), c["debit_amount"]),
                    Leg((c["payee_clearing_account"], None), (self.credit_account, self.credit_shard),
                        c["credit_amount"]))
        return (Leg((self.debit_account, self.debit_shard), (self.credit_account, self.credit_shard), self.amount),)

    def book_keys(self) -> list[tuple[str, int | None]]:
        """Every book this transfer holds on, notes a credit on or posts to, in order."""
        return list(dict.fromkeys(k for leg in self.legs() for k in (leg.debit, leg.credit)))

    @property
    def payer_book(self) -> tuple[str, int | None]:
        """The book the payer's funds are held on (the first leg's debit)."""
        return self.legs()[0].debit

    @property
    def payee_book(self) -> tuple[str, int | None]:
        """The book the payee's pending credit is noted on (the last leg's credit)."""
        return self.legs()[-1].credit

    def reserve(self, books: dict, *, require_funds: bool) -> tuple["Transfer", dict]:
        """Hold the payer's amount on their book if its available balance covers it, note the pending credit on
        the payee's: (the transfer with what it holds, the changed books). When the payer cannot cover it:
        422 `insufficient_funds` if `require_funds`, else nothing is held (a bill: the payee must not learn
        the payer's balance; confirm re-checks)."""
        legs = self.legs()
        pays, gets = legs[0].amount, legs[-1].amount
        payer = books[self.payer_book]
        if payer.can_reserve(pays):
            held, changed = pays, {self.payer_book: payer.holding(pays)}
        elif require_funds:
            raise Unprocessable("可用余额不足以支付这笔转账。 "
                                "The available balance does not cover this transfer.", code="insufficient_funds")
        else:
            held, changed = 0, {}
        changed[self.payee_book] = changed.get(self.payee_book, books[self.payee_book]).expecting(gets)
        return evolve(self, reserved=held), changed

    def close(self, state: str, by: str | None, now: datetime, reason: str | None, books: dict
              ) -> tuple["Transfer", dict]:
        """Reject, cancel or expire: the hold and the pending credit are released, nothing posts."""
        changed = {}
        if self.reserved:
            changed[self.payer_book] = books[self.payer_book].released(held=self.reserved)
        payee = changed.get(self.payee_book, books[self.payee_book])
        changed[self.payee_book] = payee.released(expected=self.legs()[-1].amount)
        return self.resolved(state, by, now, reason), changed

    def post(self, books: dict, by: str | None, now: datetime, *, stored: bool = True
             ) -> tuple["Transfer", dict, list[dict]]:
        """Post: each leg's debit and credit entry on its book's chain, balances moved, the hold and pending
        credit released (`stored=False`: a transfer posted as it is made, which never held anything).
        422 `insufficient_funds` (nothing changes) when the payer's limit does not allow it any more.
        Returns (the posted transfer, the changed books, the entries)."""
        legs = self.legs()
        reserved = self.reserved if stored else 0
        if not books[self.payer_book].can_post(legs[0].amount, reserved):
            raise Unprocessable("付款方的可用余额不足以支付这笔转账。 The payer's available balance does not cover this transfer.",
                                code="insufficient_funds")
        changed: dict = {}
        entries = []
        for i, leg in enumerate(legs):
            first, last = i == 0, i == len(legs) - 1
            for side, key, counter in (("debit", leg.debit, leg.credit), ("credit", leg.credit, leg.debit)):
                book = changed.get(key, books[key])
                changed[key], entry = book.appended(
                    self, side, leg.amount, now, leg=i, counter_account=counter[0],
                    held=reserved if first and side == "debit" else 0,
                    expected=leg.amount if stored and last and side == "credit" else 0)
                entries.append(entry)
        done = self.resolved(POSTED, by, now) if stored else evolve(
            self, state=POSTED, resolved_by=by, resolved_at=now, reserved=0)
        return done, changed, entries


_VERBS_ZH = {"confirm": "确认", "reject": "拒绝"}


def _why_not(t: Transfer, actor: Actor, verb: str) -> str:
    zh = _VERBS_ZH[verb]
    if actor.member_id == t.initiator_id:
        return f"这笔转账是您发起的，只有对方可以{zh}。 You created this transfer; only the other party can {verb} it."
    if t.workflow == "award":
        return (f"只有本社区的组织者、网格员或管理员（志愿者本人除外）可以{zh}奖励。 Only an organizer, grid worker or "
                f"admin of the community, other than the volunteer, can {verb} an award.")
    return f"只有这笔转账上写明的对方可以{zh}。 Only the counterparty named on this transfer can {verb} it."


def check_amount(amount) -> int:
    """A positive whole amount within bounds."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0 or amount > MAX_AMOUNT:
        raise Unprocessable("金额须为正整数。 The amount must be a positive whole number.", code="bad_amount")
    return amount


def check_unit(unit: str) -> str:
    """HOUR or PT."""
    if unit not in UNITS:
        raise Unprocessable(f"未知单位 {unit!r}，请用 HOUR（工时）或 PT（积分）。 "
                            f"Unknown unit {unit!r}; use HOUR or PT.", code="bad_unit")
    return unit


def expires_at(created_at: datetime, ttl_days: int) -> datetime:
    """When a pending transfer created at `created_at` lapses."""
    return created_at + timedelta(days=ttl_days)


# -- journal entries and the hash chain ------------------------------------------------------
def epoch_ms(at: datetime) -> int:
    """Milliseconds since the epoch (the chain hashes times in this exact form)."""
    return int(at.timestamp() * 1000)


def canonical_entry(entry: dict) -> bytes:
    """The bytes of an entry that its hash covers: every fact about the money, in a fixed form."""
    facts = {"account_id": entry["account_id"], "shard": entry["shard"], "seq": entry["seq"],
             "transfer_id": entry["transfer_id"], "side": entry["side"], "amount": entry["amount"],
             "delta": entry["delta"], "unit": entry["unit"], "counter_account": entry["counter_account"],
             "posted_at_ms": entry["posted_at_ms"]}
    return json.dumps(facts, sort_keys=True, separators=(",", ":")).encode()


def chain_hash(prev_hash: str, entry: dict) -> str:
    """sha256(prev_hash ‖ canonical entry), hex."""
    return hashlib.sha256(prev_hash.encode() + canonical_entry(entry)).hexdigest()


def make_entry(transfer: Transfer, side: str, shard: int, seq: int, prev_hash: str, posted_at: datetime, *,
               account_id: str | None = None, amount: int | None = None, leg: int = 0,
               counter_account: str | None = None, community_id: str | None = None) -> dict:
    """One immutable journal entry of a posted transfer, linked to the previous entry of its chain: on the
    transfer's account of `side`, of its amount, against its other account, unless a leg names others. Its id
    is `<transfer>:D|C` (a second leg's: `:D1|C1`)."""
    debit = side == "debit"
    amount = transfer.amount if amount is None else amount
    entry = {"account_id": account_id or (transfer.debit_account if debit else transfer.credit_account),
             "counter_account": counter_account or (transfer.credit_account if debit else transfer.debit_account),
             "shard": shard, "seq": seq, "transfer_id": transfer.transfer_id, "side": side,
             "amount": amount, "delta": -amount if debit else amount,
             "unit": transfer.unit, "posted_at_ms": epoch_ms(posted_at)}
    entry.update(_id=f"{transfer.transfer_id}:{'D' if debit else 'C'}{leg or ''}", prev_hash=prev_hash,
                 hash=chain_hash(prev_hash, entry), posted_at=posted_at,
                 community_id=community_id or transfer.community_id,
                 workflow=transfer.workflow, reference=transfer.reference)
    return entry


def verify_chain(entries: list[dict]) -> tuple[list[str], str, int, int]:
    """Check one chain's entries in seq order; returns (problems, head hash, last seq, sum of deltas)."""
    problems: list[str] = []
    prev, expected_seq, total = GENESIS, 1, 0
    for e in entries:
        where = f"{e['account_id']}#{e['shard']} seq {e['seq']}"
        if e["seq"] != expected_seq:
            problems.append(f"{where}: expected seq {expected_seq}")
        if e["prev_hash"] != prev:
            problems.append(f"{where}: prev_hash does not link to the previous entry")
        if chain_hash(e["prev_hash"], e) != e["hash"]:
            problems.append(f"{where}: hash does not match the entry (tampered)")
        if e["delta"] != (-e["amount"] if e["side"] == "debit" else e["amount"]) or e["amount"] <= 0:
            problems.append(f"{where}: amount and delta disagree")
        prev, expected_seq, total = e["hash"], e["seq"] + 1, total + e["delta"]
    return problems, prev, expected_seq - 1, total
