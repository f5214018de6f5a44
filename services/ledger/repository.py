"""MongoDB storage of accounts, shards, transfers, journal entries and pay codes (inside a unit of work).

Collections: `accounts` (one document per account; running balance and chain head), `account_shards`
(the sub-chains of hot accounts, see model.HOT_SHARDS), `transfers`, `entries` (the immutable journal),
`communities` (settings read from community.events), `pay_codes`, `limit_grants` (who changed a limit).

Every read goes through the transaction's identity map (`tx.cache`) and every write is deferred
(`tx.defer`) and sent in bulk when the unit of work ends. So several commands can share one transaction
(group commit, `UnitOfWork.run_many`): each sees the changes of those before it, and one that is refused
is undone alone. Each update carries a guard (the chain head's seq, the pending state, the limit) that
must still match when it is written; under snapshot isolation a concurrent change is a write conflict
and the whole transaction is retried, so a missed guard means a bug and aborts it (`WriteMissed`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from pymongo import InsertOne, ReplaceOne, UpdateOne

from shared.errors import NotFound, Unprocessable
from shared.idempotency import KEYS
from shared.mongo import shallow_fields, utcnow
from shared.uow import Tx, WriteMissed
from services.ledger import model
from services.ledger.model import Account, Transfer

_ACCOUNT_FIELDS = {f.name for f in fields(Account)}
_TRANSFER_FIELDS = {f.name for f in fields(Transfer)}
DEFAULT_COMMUNITY = {"pending_ttl_days": model.DEFAULT_PENDING_TTL_DAYS, "bill_auto_confirm": False,
                     "hour_credit_limit": model.DEFAULT_HOUR_CREDIT_LIMIT, "point_value_fen": None, "settings": {}}


def to_account(doc: dict) -> Account:
    """An Account from its stored document."""
    return Account(account_id=doc["_id"], **{k: v for k, v in doc.items() if k in _ACCOUNT_FIELDS - {"account_id"}})


def to_transfer(doc: dict) -> Transfer:
    """A Transfer from its stored document."""
    return Transfer(transfer_id=doc["_id"],
                    **{k: v for k, v in doc.items() if k in _TRANSFER_FIELDS - {"transfer_id"}})


def transfer_doc(t: Transfer) -> dict:
    """The stored form of a transfer (`confirmer_id` indexed for "awaiting my confirmation")."""
    doc = shallow_fields(t)
    doc["_id"] = doc.pop("transfer_id")
    doc["confirmer_id"] = t.confirmer_id()
    if doc["source"] is None:
        del doc["source"]  # the unique index on source is partial: only event-created transfers have one
    return doc


@dataclass
class Snapshot:
    """What a command reads before it decides, fetched in one round trip (see LedgerRepository.snapshot)."""

    key_record: dict | None = None  # the Idempotency-Key's record, if the key was seen before
    community: dict | None = None
    transfer: Transfer | None = None
    accounts: dict[str, Account] = field(default_factory=dict)


class LedgerRepository:
    """Reads (through the identity map) and deferred writes of the ledger's collections in one transaction."""

    def __init__(self, tx: Tx):
        self.tx = tx
        self.cache = tx.cache

    # -- reads --------------------------------------------------------------------------------
    def load(self, *, keys=(), communities=(), accounts=(), transfers=()) -> None:
        """Bring documents into the identity map in one round trip (one aggregate in this transaction's
        snapshot), with each transfer's two accounts; what is already there, or known absent, is not read."""
        wanted = {KEYS: keys, "communities": communities, "accounts": accounts, "transfers": transfers}
        reads = {coll: (coll, missing) for coll, ids in wanted.items()
                 if (missing := [i for i in dict.fromkeys(ids) if (coll, i) not in self.cache])}
        if not reads:
            return
        follow = {}
        if "transfers" in reads:
            follow = {"debits": ("accounts", "transfers.debit_account"),
                      "credits": ("accounts", "transfers.credit_account")}
        docs = self.tx.fetch(reads, follow)
        for coll, convert in ((KEYS, dict), ("communities", dict), ("accounts", to_account),
                              ("transfers", to_transfer)):
            for doc in docs.get(coll, ()):
                self.cache.setdefault((coll, doc["_id"]), convert(doc))
            for i in reads.get(coll, (None, ()))[1]:
                self.cache.setdefault((coll, i), None)
        for doc in (*docs.get("debits", ()), *docs.get("credits", ())):
            self.cache.setdefault(("accounts", doc["_id"]), to_account(doc))

    def snapshot(self, *, key_id: str | None = None, community_id: str | None = None,
                 account_ids: list[str] = (), transfer_id: str | None = None) -> Snapshot:
        """The key record, community settings, accounts and/or a transfer with both of its accounts, read
        together (one round trip, or none when a group commit read them for all its commands first)."""
        self.load(keys=[key_id] if key_id else (), communities=[community_id] if community_id else (),
                  accounts=account_ids, transfers=[transfer_id] if transfer_id else ())
        transfer = self.transfer(transfer_id) if transfer_id else None
        ids = [*account_ids, *((transfer.debit_account, transfer.credit_account) if transfer else ())]
        return Snapshot(key_record=self.cache.get((KEYS, key_id)) if key_id else None,
                        community=self.community(community_id) if community_id else None,
                        transfer=transfer, accounts={i: a for i in ids if (a := self.account(i)) is not None})

    def _get(self, coll: str, doc_id, convert=dict):
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
        self.cache[("communities", community_id)] = {**(self._get("communities", community_id) or {}),
                                                     "_id": community_id, **values}
        self.tx.defer("communities", UpdateOne({"_id": community_id}, {"$set": values}, upsert=True))

    # -- accounts ---------------------------------------------------------------------------
    def account(self, account_id: str) -> Account | None:
        """An account by id, or None."""
        return self._get("accounts", account_id, to_account)

    def require_account(self, account_id: str) -> Account:
        """An account by id, or 404."""
        account = self.account(account_id)
        if account is None:
            raise NotFound("No such account.", code="unknown_account", account_id=account_id)
        return account

    def open(self, account: Account) -> tuple[Account, bool]:
        """Get or create `account`; returns (the stored account, whether it was created now)."""
        existing = self.account(account.account_id)
        if existing is not None:
            return existing, False
        doc = shallow_fields(account)
        doc["_id"] = doc.pop("account_id")
        doc["opened_at"] = utcnow()
        # Two transactions opening the same account: the second one's insert is a write conflict, retried.
        self.tx.defer("accounts", InsertOne(doc))
        self.cache[("accounts", account.account_id)] = account
        for k in range(account.shards):
            shard = {"_id": _shard_id(account.account_id, k), "account_id": account.account_id, "shard": k,
                     "posted": 0, "pending_out": 0, "pending_in": 0, "seq": 0, "last_hash": model.GENESIS}
            self.tx.defer("account_shards", InsertOne(shard))
            self.cache[("account_shards", shard["_id"])] = dict(shard)
        return account, True

    def set_status(self, account_ids: list[str], status: str) -> int:
        """Mark accounts active or inactive; returns how many changed."""
        changed = [a for i in account_ids if (a := self.account(i)) is not None and a.status != status]
        for a in changed:
            self._update_account(a, {"$set": {"status": status}}, replace(a, status=status))
        return len(changed)

    def set_auto_accept(self, account_ids: list[str], value: bool) -> None:
        """Record a member's standing consent to gifts on their accounts."""
        for a in filter(None, map(self.account, account_ids)):
            self._update_account(a, {"$set": {"auto_accept_credits": value}}, replace(a, auto_accept_credits=value))

    def set_credit_limit(self, account_id: str, limit: int) -> None:
        """Store a new credit limit, only if it still covers the account's use (rechecked in the write)."""
        account = self.require_account(account_id)
        if account.posted - account.pending_out + limit < 0:
            raise Unprocessable("The account already uses more credit than this limit.", code="limit_below_use")
        self._update_account(account, {"$set": {"credit_limit": limit}}, replace(account, credit_limit=limit),
                             guard={"$expr": {"$gte": [{"$add": [{"$subtract": ["$posted", "$pending_out"]},
                                                                 limit]}, 0]}})

    def _update_account(self, account: Account, update: dict, after: Account, guard: dict | None = None) -> None:
        self.tx.defer("accounts", UpdateOne({"_id": account.account_id, **(guard or {})}, update), must_match=True)
        self.cache[("accounts", account.account_id)] = after

    # -- balances: reservations and posting -------------------------------------------------------
    def _head(self, account: Account, shard: int | None) -> dict:
        """The running balance and chain head an account's transfer writes: the account or its shard."""
        if not account.shards:
            return shallow_fields(self.require_account(account.account_id))
        head = self._get("account_shards", _shard_id(account.account_id, shard))
        if head is None:
            raise WriteMissed(f"no shard {shard} of {account.account_id}")
        return head

    def _move(self, account: Account, shard: int | None, inc: dict, last_hash: str | None = None,
              guard: dict | None = None) -> None:
        """Apply `inc` (and a new chain head) to the account or its shard: in the identity map now, in MongoDB
        at flush, where `guard` must still hold."""
        update: dict = {"$inc": inc}
        if last_hash is not None:
            update["$set"] = {"last_hash": last_hash}
        if account.shards:
            head = self._head(account, shard)
            moved = {**head, **{k: head[k] + v for k, v in inc.items()}, **update.get("$set", {})}
            self.tx.defer("account_shards", UpdateOne({"_id": head["_id"], **(guard or {})}, update), must_match=True)
            self.cache[("account_shards", head["_id"])] = moved
        else:
            current = self.require_account(account.account_id)
            moved = {k: getattr(current, k) + v for k, v in inc.items()}
            self._update_account(current, update, replace(current, **moved, **update.get("$set", {})), guard)

    def reserve(self, t: Transfer, debit: Account, credit: Account) -> int:
        """Hold the debit on the payer and note the pending credit on the payee; returns the amount held
        (0 when the payer's available balance does not cover it: nothing is held then)."""
        debit = self.require_account(debit.account_id)
        if debit.shards or debit.unlimited:
            self._move(debit, t.debit_shard, {"pending_out": t.amount})
            held = t.amount
        elif debit.can_reserve(t.amount):
            self._move(debit, None, {"pending_out": t.amount}, guard={"$expr": {"$gte": [
                {"$subtract": [{"$add": ["$posted", "$credit_limit"]}, "$pending_out"]}, t.amount]}})
            held = t.amount
        else:
            held = 0
        self._move(credit, t.credit_shard, {"pending_in": t.amount})
        return held

    def release(self, t: Transfer, debit: Account, credit: Account) -> None:
        """Drop a pending transfer's hold and pending credit (it was rejected, cancelled or expired)."""
        if t.reserved:
            self._move(debit, t.debit_shard, {"pending_out": -t.reserved})
        self._move(credit, t.credit_shard, {"pending_in": -t.amount})

    def post(self, t: Transfer, debit: Account, credit: Account, now, was_pending: bool) -> list[dict]:
        """Write the transfer's debit and credit entries onto both chains and move the balances."""
        current = self.require_account(debit.account_id)
        if not current.unlimited and not current.shards and not current.can_post(t.amount, t.reserved):
            raise Unprocessable("The payer's available balance does not cover this transfer.",
                                code="insufficient_funds")
        entries = []
        for side, account, shard in (("debit", debit, t.debit_shard), ("credit", credit, t.credit_shard)):
            head = self._head(account, shard)
            entry = model.make_entry(t, side, shard or 0, head["seq"] + 1, head["last_hash"], now)
            inc = {"posted": entry["delta"], "seq": 1}
            if side == "debit" and t.reserved:
                inc["pending_out"] = -t.reserved
            if side == "credit" and was_pending:
                inc["pending_in"] = -t.amount
            if not account.shards:
                entry["balance_after"] = head["posted"] + entry["delta"]
            # Each head moves only from the seq read here: a forked chain cannot be written.
            self._move(account, shard, inc, last_hash=entry["hash"], guard={"seq": head["seq"]})
            self.tx.defer("entries", InsertOne(entry))
            entries.append(entry)
        return entries

    # -- transfers ----------------------------------------------------------------------------
    def transfer(self, transfer_id: str) -> Transfer | None:
        """A transfer by id, or None."""
        return self._get("transfers", transfer_id, to_transfer)

    def add_transfer(self, t: Transfer) -> None:
        """Store a new transfer."""
        self.tx.defer("transfers", InsertOne(transfer_doc(t)))
        self.cache[("transfers", t.transfer_id)] = t

    def save_transfer(self, t: Transfer) -> None:
        """Store a transfer's new state (only ever from pending, checked in the write)."""
        self.tx.defer("transfers", ReplaceOne({"_id": t.transfer_id, "state": model.PENDING}, transfer_doc(t)),
                      must_match=True)
        self.cache[("transfers", t.transfer_id)] = t

    # -- pay codes ----------------------------------------------------------------------------
    def add_pay_code(self, code: dict) -> None:
        """Store a pay code (its sha256 only)."""
        self.tx.defer("pay_codes", InsertOne(code))
        self.cache[("pay_codes", code["_id"])] = dict(code)

    def pay_code(self, community_id: str, member_id: str, code_sha256: str) -> dict | None:
        """The member's pay code with this hash, if any (as this transaction last left it)."""
        doc = self.tx["pay_codes"].find_one({"code_sha256": code_sha256, "community_id": community_id,
                                             "member_id": member_id})
        return self.cache.setdefault(("pay_codes", doc["_id"]), doc) if doc else None

    def use_pay_code(self, code_id: str, transfer_id: str, now) -> bool:
        """Mark a pay code used by `transfer_id`; False if it was already used."""
        code = self._get("pay_codes", code_id)
        if code is None or code["used_by"] is not None:
            return False
        self.cache[("pay_codes", code_id)] = {**code, "used_by": transfer_id, "used_at": now}
        self.tx.defer("pay_codes", UpdateOne({"_id": code_id, "used_by": None},
                                             {"$set": {"used_by": transfer_id, "used_at": now}}), must_match=True)
        return True

    def record_limit_grant(self, grant: dict) -> None:
        """Keep who changed which limit, when (audit trail)."""
        self.tx.defer("limit_grants", InsertOne(grant))


def _shard_id(account_id: str, shard: int) -> str:
    return f"{account_id}#{shard}"
