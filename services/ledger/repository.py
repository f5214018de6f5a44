"""MongoDB storage of the ledger's aggregates: it loads and saves them, and decides nothing.

Collections: `accounts` (one document per account; running balance and chain head), `account_shards`
(the sub-chains of hot accounts, see model.Shard), `transfers`, `entries` (the immutable journal),
`communities` (settings read from community.events), `pay_codes`, `limit_grants` (who changed a limit).

Every read goes through the transaction's identity map (`tx.cache`, immutable values) and every write is
deferred (`tx.defer`) and sent in bulk when the unit of work ends: the rules of `shared.groupcommit`, so
several commands can share one transaction and one that is refused is undone alone. Saving an aggregate
writes the difference from the version this transaction loaded, with a guard that must still match when
it is written: the chain head's `seq` when an entry is appended, the limit when the write lowers a
limited account's available balance, `state: pending` when a transfer is resolved. Under snapshot
isolation a concurrent change is a write conflict and the whole transaction is retried, so a missed guard
means a bug and aborts it (`WriteMissed`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType

from pymongo import InsertOne, UpdateOne

from shared.errors import NotFound
from shared.idempotency import KEYS
from shared.mongo import utcnow
from shared.uow import Tx, WriteMissed
from services.ledger import model
from services.ledger.cross import TrustLine
from services.ledger.model import Account, Book, Shard, Transfer

_ACCOUNT_FIELDS = frozenset(f.name for f in fields(Account)) - {"account_id"}  # read from a document
_TRANSFER_FIELDS = frozenset(f.name for f in fields(Transfer)) - {"transfer_id"}
_LINE_FIELDS = {f.name for f in fields(TrustLine)}
_COUNTERS = ("posted", "pending_out", "pending_in", "seq")  # written as $inc of the difference
_SET_FIELDS = {cls: tuple(f.name for f in fields(cls) if f.name not in (*_COUNTERS, "account_id", "shard"))
               for cls in (Account, Shard)}
DEFAULT_COMMUNITY = {"pending_ttl_days": model.DEFAULT_PENDING_TTL_DAYS, "bill_auto_confirm": False,
                     "hour_credit_limit": model.DEFAULT_HOUR_CREDIT_LIMIT, "point_value_fen": None, "settings": {}}
SHARDS = "account_shards"


def to_account(doc: dict) -> Account:
    """An Account from its stored document."""
    return Account(account_id=doc["_id"], **{k: doc[k] for k in _ACCOUNT_FIELDS & doc.keys()})


def to_shard(doc: dict) -> Shard:
    """A Shard from its stored document."""
    return Shard(doc["account_id"], doc["shard"], posted=doc["posted"], pending_out=doc["pending_out"],
                 pending_in=doc["pending_in"], seq=doc["seq"], last_hash=doc["last_hash"])


def to_transfer(doc: dict) -> Transfer:
    """A Transfer from its stored document."""
    return Transfer(transfer_id=doc["_id"], **{k: doc[k] for k in _TRANSFER_FIELDS & doc.keys()})


def transfer_doc(t: Transfer) -> dict:
    """The stored form of a transfer (`confirmer_id` indexed for "awaiting my confirmation")."""
    doc = dict(vars(t))  # the fields, values shared (frozen dataclasses: vars() is exactly the fields)
    doc["_id"] = doc.pop("transfer_id")
    doc["confirmer_id"] = t.confirmer_id()
    if doc["source"] is None:
        del doc["source"]  # the unique index on source is partial: only event-created transfers have one
    return doc


def shard_id(account_id: str, shard: int) -> str:
    """The _id of a hot account's shard document."""
    return f"{account_id}#{shard}"


# The _ids of the shards the fetched transfers use (account_id#shard of each side that has a shard).
_SHARD_IDS_OF_TRANSFERS = {side: {"$map": {
    "input": {"$filter": {"input": "$transfers", "as": "t",
                          "cond": {"$ne": [{"$ifNull": [f"$$t.{side}_shard", None]}, None]}}},
    "as": "t", "in": {"$concat": [f"$$t.{side}_account", "#", {"$toString": f"$$t.{side}_shard"}]}}}
    for side in ("debit", "credit")}


# The accounts the fetched transfers name: both sides, and a cross transfer's two clearing accounts.
_ACCOUNT_IDS_OF_TRANSFERS = {"$concatArrays": [
    {"$ifNull": [f"$transfers.{path}", []]}
    for path in ("debit_account", "credit_account", "cross.payer_clearing_account", "cross.payee_clearing_account")]}


_SHARD_IDS_OF_TRANSFERS_ALL = {"$concatArrays": [_SHARD_IDS_OF_TRANSFERS[side] for side in ("debit", "credit")]}


# The communities whose settings the fetched transfers' postings use (a cross transfer's payee side too).
TRANSFER_COMMUNITY_IDS = {"$concatArrays": [{"$ifNull": ["$transfers.community_id", []]},
                                            {"$ifNull": ["$transfers.cross.payee_community", []]}]}


def transfer_community_ids(transfer_docs) -> list[str]:
    """TRANSFER_COMMUNITY_IDS, of transfer documents in hand."""
    return [c for d in transfer_docs for c in (d["community_id"], (d.get("cross") or {}).get("payee_community")) if c]


def _frozen(doc: dict) -> MappingProxyType:
    return MappingProxyType(doc)


@dataclass
class Snapshot:
    """What a command reads before it decides, fetched in one round trip (see LedgerRepository.snapshot)."""

    key_record: MappingProxyType | None = None  # the Idempotency-Key's record, if the key was seen before
    community: dict | None = None
    transfer: Transfer | None = None
    accounts: dict[str, Account] = field(default_factory=dict)


class LedgerRepository:
    """Loads (through the identity map) and saves (deferred, guarded) the ledger's aggregates in one transaction."""

    def __init__(self, tx: Tx):
        self.tx = tx
        self.cache = tx.cache

    # -- reads --------------------------------------------------------------------------------
    def load(self, *, keys=(), communities=(), accounts=(), shards=(), transfers=(), follow=None,
             computed=None) -> dict:
        """Bring documents into the identity map in one round trip (one aggregate in this transaction's
        snapshot), with each transfer's two accounts, the shards it uses of hot ones and its communities'
        settings; what is already there, or known absent, is not read. `follow` and `computed` (Tx.fetch) add
        more lookups to the same round trip, for a module keeping its own values (the points economy: see
        reads.prefetch); what they found is returned (with the transfers read), not cached here."""
        wanted = {KEYS: keys, "communities": communities, "accounts": accounts, SHARDS: shards,
                  "transfers": transfers}
        reads = {coll: (coll, missing) for coll, ids in wanted.items()
                 if (missing := [i for i in dict.fromkeys(ids) if (coll, i) not in self.cache])}
        if not reads:
            return {}
        follow, computed = dict(follow or {}), dict(computed or {})
        asked = {coll: ids for coll, (_, ids) in reads.items()}  # ids read: those not found are known absent
        if "transfers" in reads:
            # One lookup per collection: the accounts, shards and communities asked for by id are read with those
            # the fetched transfers name (their two accounts, the shards they use, the communities whose settings
            # their postings use; a cross transfer's clearing accounts and trust line), in the same stage.
            for coll, of_transfers in (("accounts", _ACCOUNT_IDS_OF_TRANSFERS), (SHARDS, _SHARD_IDS_OF_TRANSFERS_ALL),
                                       ("communities", TRANSFER_COMMUNITY_IDS)):
                ids = reads.pop(coll, (coll, []))[1]
                computed[f"{coll}_ids"] = {"$concatArrays": [{"$literal": ids}, of_transfers]}
                follow[coll] = (coll, f"{coll}_ids")
            follow["trust_lines"] = ("trust_lines", "transfers.cross.trust_line_id")
        docs = self.tx.fetch(reads, follow, computed or None)
        for coll, convert in ((KEYS, _frozen), ("communities", _frozen), ("accounts", to_account),
                              (SHARDS, to_shard), ("transfers", to_transfer)):
            for doc in docs.get(coll, ()):
                self.cache.setdefault((coll, doc["_id"]), convert(doc))
            for i in asked.get(coll, ()):
                self.cache.setdefault((coll, i), None)
        for doc in docs.get("trust_lines", ()):
            self.cache.setdefault(("trust_lines", doc["_id"]), to_trust_line(doc))
        for community_id in transfer_community_ids(docs.get("transfers", ())):
            self.cache.setdefault(("communities", community_id), None)  # not announced yet: the defaults
        return docs

    def snapshot(self, *, key_id: str | None = None, community_id: str | None = None,
                 account_ids: list[str] = (), shard_ids: list[str] = (), transfer_id: str | None = None) -> Snapshot:
        """The key record, community settings, accounts (and shards) and/or a transfer with both of its accounts,
        read together (one round trip, or none when a group commit read them for all its commands first)."""
        self.load(keys=[key_id] if key_id else (), communities=[community_id] if community_id else (),
                  accounts=account_ids, shards=shard_ids, transfers=[transfer_id] if transfer_id else ())
        transfer = self.transfer(transfer_id) if transfer_id else None
        ids = [*account_ids, *((transfer.debit_account, transfer.credit_account) if transfer else ())]
        return Snapshot(key_record=self.cache.get((KEYS, key_id)) if key_id else None,
                        community=self.community(community_id) if community_id else None,
                        transfer=transfer, accounts={i: a for i in ids if (a := self.account(i)) is not None})

    def _get(self, coll: str, doc_id, convert=_frozen):
        """A document (converted) from the identity map, read on a miss; None when there is none."""
        if (coll, doc_id) not in self.cache:
            doc = self.tx[coll].find_one({"_id": doc_id})
            self.cache[(coll, doc_id)] = convert(doc) if doc else None
        return self.cache[(coll, doc_id)]

    # -- communities ------------------------------------------------------------------------
    def community(self, community_id: str) -> dict:
        """A community's ledger settings (defaults until CommunityCreated arrives)."""
        return {**DEFAULT_COMMUNITY, **(self._get("communities", community_id) or {}), "_id": community_id}

    def save_community(self, community_id: str, values: dict) -> None:
        """Store a community's settings as last announced."""
        self.cache[("communities", community_id)] = _frozen({**(self._get("communities", community_id) or {}),
                                                             "_id": community_id, **values})
        self.tx.defer("communities", UpdateOne({"_id": community_id}, {"$set": values}, upsert=True))

    # -- accounts and their books -----------------------------------------------------------------
    def account(self, account_id: str) -> Account | None:
        """An account by id, or None."""
        return self._get("accounts", account_id, to_account)

    def require_account(self, account_id: str) -> Account:
        """An account by id, or 404."""
        account = self.account(account_id)
        if account is None:
            raise NotFound("没有这个账户。 No such account.", code="unknown_account", account_id=account_id)
        return account

    def book(self, key: tuple[str, int | None]) -> Book:
        """The book a transfer names: the account itself, or one shard of a hot account."""
        account_id, shard = key
        if shard is None:
            return self.require_account(account_id)
        book = self._get(SHARDS, shard_id(account_id, shard), to_shard)
        if book is None:
            raise WriteMissed(f"no shard {shard} of {account_id}")
        return book

    def books(self, t: Transfer) -> dict:
        """Every book `t` names, by key."""
        return {key: self.book(key) for key in t.book_keys()}

    def add_account(self, account: Account) -> None:
        """Store a new account (and the shards of a hot one)."""
        doc = dict(vars(account))
        doc["_id"] = doc.pop("account_id")
        doc["opened_at"] = utcnow()
        # Two transactions opening the same account: the second one's insert is a write conflict, retried.
        self.tx.defer("accounts", InsertOne(doc))
        self.cache[("accounts", account.account_id)] = account
        for shard in account.new_shards():
            self.tx.defer(SHARDS, InsertOne({"_id": shard_id(shard.account_id, shard.shard),
                                             "account_id": shard.account_id, "shard": shard.shard,
                                             "posted": 0, "pending_out": 0, "pending_in": 0, "seq": 0,
                                             "last_hash": shard.last_hash}))
            self.cache[(SHARDS, shard_id(shard.account_id, shard.shard))] = shard

    def save(self, *books: Book) -> None:
        """Store changed accounts or shards: the difference from what this transaction loaded, guarded."""
        for after in books:
            account_id, shard = after.key
            coll, doc_id = (SHARDS, shard_id(account_id, shard)) if shard is not None else ("accounts", account_id)
            before = self.cache[(coll, doc_id)]
            update, guard = _difference(before, after)
            if update:
                self.tx.defer(coll, UpdateOne({"_id": doc_id, **guard}, update), must_match=True)
            self.cache[(coll, doc_id)] = after

    # -- transfers and the journal ---------------------------------------------------------------
    def transfer(self, transfer_id: str) -> Transfer | None:
        """A transfer by id, or None."""
        return self._get("transfers", transfer_id, to_transfer)

    def add_transfer(self, t: Transfer) -> None:
        """Store a new transfer."""
        self.tx.defer("transfers", InsertOne(transfer_doc(t)))
        self.cache[("transfers", t.transfer_id)] = t

    def save_transfer(self, t: Transfer) -> None:
        """Store a transfer's new state: the fields that changed since it was loaded (only ever from pending,
        checked in the write)."""
        was, now = vars(self.cache[("transfers", t.transfer_id)]), vars(t)
        changed = {k: v for k, v in now.items() if v != was[k]}
        self.tx.defer("transfers", UpdateOne({"_id": t.transfer_id, "state": model.PENDING}, {"$set": changed}),
                      must_match=True)
        self.cache[("transfers", t.transfer_id)] = t

    def add_entries(self, entries: list[dict]) -> None:
        """Append journal entries (immutable; a unique index on (account_id, shard, seq) forbids a fork)."""
        for entry in entries:
            self.tx.defer("entries", InsertOne(entry))

    # -- pay codes and limit grants ------------------------------------------------------------------
    def add_pay_code(self, code: dict) -> None:
        """Store a pay code (its sha256 only)."""
        self.tx.defer("pay_codes", InsertOne(code))
        self.cache[("pay_codes", code["_id"])] = _frozen(dict(code))

    def pay_code(self, community_id: str, member_id: str, code_sha256: str) -> MappingProxyType | None:
        """The member's pay code with this hash, if any (as this transaction last left it)."""
        doc = self.tx["pay_codes"].find_one({"code_sha256": code_sha256, "community_id": community_id,
                                             "member_id": member_id})
        return self.cache.setdefault(("pay_codes", doc["_id"]), _frozen(doc)) if doc else None

    def use_pay_code(self, code: MappingProxyType, transfer_id: str, now) -> None:
        """Mark a pay code used by `transfer_id` (only if still unused, checked in the write)."""
        self.cache[("pay_codes", code["_id"])] = _frozen({**code, "used_by": transfer_id, "used_at": now})
        self.tx.defer("pay_codes", UpdateOne({"_id": code["_id"], "used_by": None},
                                             {"$set": {"used_by": transfer_id, "used_at": now}}), must_match=True)

    def record_limit_grant(self, grant: dict) -> None:
        """Keep who changed which limit, when (audit trail)."""
        self.tx.defer("limit_grants", InsertOne(grant))


def to_trust_line(doc: dict) -> TrustLine:
    """A TrustLine from its stored document (`trust_lines`, the ledger's read of exchange.events)."""
    values = {k: v for k, v in doc.items() if k in _LINE_FIELDS - {"trust_line_id", "clearings"}}
    return TrustLine(trust_line_id=doc["_id"], clearings=tuple(doc.get("clearings", ())), **values)


class TrustLines:
    """The ledger's trust lines (`trust_lines`): loaded through the identity map, saved deferred; a posting's
    change of `net` is written as `$inc` under the guard of the value it was decided on."""

    def __init__(self, tx: Tx):
        self.tx, self.cache = tx, tx.cache

    def get(self, trust_line_id: str) -> TrustLine | None:
        key = ("trust_lines", trust_line_id)
        if key not in self.cache:
            doc = self.tx["trust_lines"].find_one({"_id": trust_line_id})
            self.cache[key] = to_trust_line(doc) if doc else None
        return self.cache[key]

    def between(self, community_id: str, partner_id: str, unit: str) -> list[TrustLine]:
        """Every line of the two communities in `unit` (any agreement, any status)."""
        docs = self.tx["trust_lines"].find({"unit": unit, "$or": [
            {"community_a": community_id, "community_b": partner_id},
            {"community_a": partner_id, "community_b": community_id}]})
        return [self.cache.setdefault(("trust_lines", d["_id"]), to_trust_line(d)) for d in docs]

    def announce(self, trust_line_id: str, values: dict) -> None:
        """Store what exchange.events said of a line (terms, status or rate); `net` and clearings are ours."""
        before = self.get(trust_line_id)
        self.cache[("trust_lines", trust_line_id)] = (replace(before, **values) if before is not None else
                                                      TrustLine(trust_line_id=trust_line_id, **values))
        self.tx.defer("trust_lines", UpdateOne({"_id": trust_line_id},
                                               {"$set": values, "$setOnInsert": {"net": 0, "clearings": []}},
                                               upsert=True))

    def save(self, after: TrustLine) -> None:
        """Store a line's new `net` (and clearings) as the difference from what this transaction loaded."""
        before = self.cache[("trust_lines", after.trust_line_id)]
        update: dict = {"$inc": {"net": after.net - before.net}}
        if after.clearings != before.clearings:
            update["$push"] = {"clearings": {"$each": list(after.clearings[len(before.clearings):])}}
        self.tx.defer("trust_lines", UpdateOne({"_id": after.trust_line_id, "net": before.net}, update),
                      must_match=True)
        self.cache[("trust_lines", after.trust_line_id)] = after


def _difference(before: Book, after: Book) -> tuple[dict, dict]:
    """The update taking a stored book from `before` to `after` ($inc of the counters, $set of the rest) and
    the guard it is written under: the chain head it was appended to, and (for a limited book whose
    available balance it lowers) that the balance stays within the limit, as the aggregate checked."""
    was, now = vars(before), vars(after)
    inc = {k: d for k in _COUNTERS if (d := now[k] - was[k])}
    sets = {k: now[k] for k in _SET_FIELDS[type(after)] if now[k] != was[k]}
    update, guard = {}, {}
    if inc:
        update["$inc"] = inc
    if sets:
        update["$set"] = sets
    if "seq" in inc:
        guard["seq"] = before.seq
    limit = after.credit_limit
    if limit is not None and (inc.get("posted", 0) < 0 or inc.get("pending_out", 0) > 0
                              or limit < (before.credit_limit or 0)):
        # posted + Δposted − (pending_out + Δpending_out) + limit ≥ 0, on the stored values
        guard["$expr"] = {"$gte": [{"$subtract": ["$posted", "$pending_out"]},
                                   inc.get("pending_out", 0) - inc.get("posted", 0) - limit]}
    return update, guard
