"""MongoDB storage of accounts, shards, transfers, journal entries and pay codes (inside a unit of work).

Collections: `accounts` (one document per account; running balance and chain head), `account_shards`
(the sub-chains of hot accounts, see model.HOT_SHARDS), `transfers`, `entries` (the immutable journal),
`communities` (settings read from community.events), `pay_codes`, `limit_grants` (who changed a limit).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from pymongo import UpdateOne

from shared.errors import NotFound, Unprocessable
from shared.idempotency import KEYS
from shared.mongo import shallow_fields, utcnow
from shared.uow import Tx
from services.ledger import model
from services.ledger.model import Account, Transfer

_ACCOUNT_FIELDS = {f.name for f in fields(Account)}
_TRANSFER_FIELDS = {f.name for f in fields(Transfer)}
DEFAULT_COMMUNITY = {"pending_ttl_days": model.DEFAULT_PENDING_TTL_DAYS, "bill_auto_confirm": False,
                     "point_value_fen": None, "settings": {}}


class ChainMoved(RuntimeError):
    """A chain head changed under a transaction (cannot happen under snapshot isolation; a bug if seen)."""


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
    """Reads and writes the ledger's collections through one transaction."""

    def __init__(self, tx: Tx):
        self.tx = tx

    # -- one-round-trip reads ------------------------------------------------------------------
    def snapshot(self, *, key_id: str | None = None, community_id: str | None = None,
                 account_ids: list[str] = (), transfer_id: str | None = None) -> Snapshot:
        """The key record, community settings, accounts and/or a transfer with both of its accounts, read
        together (one aggregate in this transaction's snapshot) instead of one find per document."""
        reads: dict = {}
        follow: dict = {}
        if key_id is not None:
            reads["key"] = (KEYS, key_id)
        if community_id is not None:
            reads["community"] = ("communities", community_id)
        if account_ids:
            reads["accounts"] = ("accounts", list(account_ids))
        if transfer_id is not None:
            reads["transfer"] = ("transfers", [transfer_id])
            follow["transfer_accounts"] = ("accounts", "transfer.debit_account")
            follow["transfer_accounts_c"] = ("accounts", "transfer.credit_account")
        docs = self.tx.fetch(reads, follow)
        accounts = {d["_id"]: to_account(d) for name in ("accounts", "transfer_accounts", "transfer_accounts_c")
                    for d in docs.get(name, ())}
        transfer = docs.get("transfer")
        return Snapshot(key_record=docs.get("key"),
                        community={**DEFAULT_COMMUNITY, **(docs.get("community") or {}), "_id": community_id}
                        if community_id is not None else None,
                        transfer=to_transfer(transfer[0]) if transfer else None, accounts=accounts)

    # -- communities ------------------------------------------------------------------------
    def community(self, community_id: str) -> dict:
        """A community's ledger settings (defaults until CommunityCreated arrives)."""
        doc = self.tx["communities"].find_one({"_id": community_id})
        return {**DEFAULT_COMMUNITY, **(doc or {}), "_id": community_id}

    def save_community(self, community_id: str, values: dict) -> None:
        """Store a community's settings as last announced."""
        self.tx["communities"].update_one({"_id": community_id}, {"$set": values}, upsert=True)

    # -- accounts ---------------------------------------------------------------------------
    def account(self, account_id: str) -> Account | None:
        """An account by id, or None."""
        doc = self.tx["accounts"].find_one({"_id": account_id})
        return to_account(doc) if doc else None

    def require_account(self, account_id: str) -> Account:
        """An account by id, or 404."""
        account = self.account(account_id)
        if account is None:
            raise NotFound("No such account.", code="unknown_account", account_id=account_id)
        return account

    def open(self, account: Account) -> tuple[Account, bool]:
        """Get or create `account`; returns (the stored account, whether it was created now)."""
        existing = self.account(account.account_id)  # a plain read: never writes a hot document
        if existing is not None:
            return existing, False
        doc = shallow_fields(account)
        doc["_id"] = doc.pop("account_id")
        doc["opened_at"] = utcnow()
        result = self.tx["accounts"].update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True)
        if account.shards:
            for k in range(account.shards):
                self.tx["account_shards"].update_one(
                    {"_id": _shard_id(account.account_id, k)},
                    {"$setOnInsert": {"account_id": account.account_id, "shard": k, "posted": 0, "pending_out": 0,
                                      "pending_in": 0, "seq": 0, "last_hash": model.GENESIS}}, upsert=True)
        return account, result.upserted_id is not None

    def set_status(self, account_ids: list[str], status: str) -> int:
        """Mark accounts active or inactive; returns how many changed."""
        return self.tx["accounts"].update_many({"_id": {"$in": account_ids}, "status": {"$ne": status}},
                                               {"$set": {"status": status}}).modified_count

    def set_auto_accept(self, account_ids: list[str], value: bool) -> None:
        """Record a member's standing consent to gifts on their accounts."""
        self.tx["accounts"].update_many({"_id": {"$in": account_ids}}, {"$set": {"auto_accept_credits": value}})

    def set_credit_limit(self, account_id: str, limit: int) -> None:
        """Store a new credit limit, only if it still covers the account's use (rechecked in the write)."""
        result = self.tx["accounts"].update_one(
            {"_id": account_id, "$expr": {"$gte": [{"$add": [{"$subtract": ["$posted", "$pending_out"]}, limit]}, 0]}},
            {"$set": {"credit_limit": limit}})
        if result.matched_count != 1:
            raise Unprocessable("The account already uses more credit than this limit.", code="limit_below_use")

    # -- reservations and posting ---------------------------------------------------------------
    def reserve(self, t: Transfer, debit: Account, credit: Account) -> int:
        """Hold the debit on the payer and note the pending credit on the payee; returns the amount held.

        `debit` and `credit` were read in this transaction. The limit is also checked in the write itself,
        so a concurrent reservation cannot slip past it (a concurrent change to the document is a write
        conflict, and the whole transaction is retried on a fresh snapshot)."""
        credit_write = (self._holder_name(credit), self._holder_filter(credit, t.credit_shard),
                        {"$inc": {"pending_in": t.amount}})
        if debit.shards or debit.unlimited:
            debit_write = (self._holder_name(debit), self._holder_filter(debit, t.debit_shard),
                           {"$inc": {"pending_out": t.amount}})
            will_hold = True
        else:
            debit_write = ("accounts", {"_id": debit.account_id, "$expr": {"$gte": [
                {"$subtract": [{"$add": ["$posted", "$credit_limit"]}, "$pending_out"]}, t.amount]}},
                {"$inc": {"pending_out": t.amount}})
            will_hold = debit.can_reserve(t.amount)  # what the conditional write will find in this snapshot
        matched = self._update_both(debit_write, credit_write)
        if matched != (2 if will_hold else 1):
            raise ChainMoved(debit.account_id)
        return t.amount if will_hold else 0

    def _update_both(self, first: tuple[str, dict, dict], second: tuple[str, dict, dict]) -> int:
        """Apply two single-document updates (in order); one round trip when both are in one collection.
        Returns how many documents matched."""
        if first[0] == second[0]:
            return self.tx[first[0]].bulk_write([UpdateOne(first[1], first[2]), UpdateOne(second[1], second[2])],
                                                ordered=True).matched_count
        return sum(self.tx[name].update_one(flt, upd).matched_count for name, flt, upd in (first, second))

    def release(self, t: Transfer, debit: Account, credit: Account) -> None:
        """Drop a pending transfer's hold and pending credit (it was rejected, cancelled or expired)."""
        if t.reserved:
            self._holder(debit, t.debit_shard).update_one(self._holder_filter(debit, t.debit_shard),
                                                          {"$inc": {"pending_out": -t.reserved}})
        self._holder(credit, t.credit_shard).update_one(self._holder_filter(credit, t.credit_shard),
                                                        {"$inc": {"pending_in": -t.amount}})

    def post(self, t: Transfer, debit: Account, credit: Account, now, was_pending: bool) -> list[dict]:
        """Write the transfer's debit and credit entries onto both chains and move the balances."""
        entries, writes = [], []
        for side, account, shard in (("debit", debit, t.debit_shard), ("credit", credit, t.credit_shard)):
            coll = self._holder(account, shard)
            # `account` was read in this same transaction (one snapshot), so an unsharded account's head is
            # already in hand; only a hot account's shard needs reading. A concurrent change is a write conflict.
            head = (shallow_fields(account) if not account.shards
                    else coll.find_one(self._holder_filter(account, shard)))
            if side == "debit" and not account.unlimited:
                current = replace(account, posted=head["posted"], pending_out=head["pending_out"],
                                        credit_limit=head["credit_limit"])
                if not current.can_post(t.amount, t.reserved):
                    raise Unprocessable("The payer's available balance does not cover this transfer.",
                                        code="insufficient_funds")
            entry = model.make_entry(t, side, shard or 0, head["seq"] + 1, head["last_hash"], now)
            inc = {"posted": entry["delta"], "seq": 1}
            if side == "debit" and t.reserved:
                inc["pending_out"] = -t.reserved
            if side == "credit" and was_pending:
                inc["pending_in"] = -t.amount
            writes.append((self._holder_name(account), {**self._holder_filter(account, shard), "seq": head["seq"]},
                           {"$inc": inc, "$set": {"last_hash": entry["hash"]}}))
            if not account.shards:
                entry["balance_after"] = head["posted"] + entry["delta"]
            entries.append(entry)
        if self._update_both(*writes) != 2:  # each head moves only from the seq this snapshot saw
            raise ChainMoved(f"{debit.account_id} / {credit.account_id}")
        self.tx["entries"].insert_many(entries, ordered=True)
        return entries

    def _holder(self, account: Account, shard: int | None):
        return self.tx[self._holder_name(account)]

    @staticmethod
    def _holder_name(account: Account) -> str:
        return "account_shards" if account.shards else "accounts"

    @staticmethod
    def _holder_filter(account: Account, shard: int | None) -> dict:
        return {"_id": _shard_id(account.account_id, shard) if account.shards else account.account_id}

    # -- transfers ----------------------------------------------------------------------------
    def transfer(self, transfer_id: str) -> Transfer | None:
        """A transfer by id, or None."""
        doc = self.tx["transfers"].find_one({"_id": transfer_id})
        return to_transfer(doc) if doc else None

    def add_transfer(self, t: Transfer) -> None:
        """Store a new transfer."""
        self.tx["transfers"].insert_one(transfer_doc(t))

    def save_transfer(self, t: Transfer) -> None:
        """Store a transfer's new state (only ever from pending, checked in the write)."""
        result = self.tx["transfers"].replace_one({"_id": t.transfer_id, "state": model.PENDING}, transfer_doc(t))
        if result.matched_count != 1:
            raise ChainMoved(t.transfer_id)

    # -- pay codes ----------------------------------------------------------------------------
    def add_pay_code(self, code: dict) -> None:
        """Store a pay code (its sha256 only)."""
        self.tx["pay_codes"].insert_one(code)

    def pay_code(self, community_id: str, member_id: str, code_sha256: str) -> dict | None:
        """The member's pay code with this hash, if any."""
        return self.tx["pay_codes"].find_one({"code_sha256": code_sha256, "community_id": community_id,
                                              "member_id": member_id})

    def use_pay_code(self, code_id: str, transfer_id: str, now) -> bool:
        """Mark a pay code used by `transfer_id`; False if it was already used."""
        return self.tx["pay_codes"].update_one({"_id": code_id, "used_by": None},
                                               {"$set": {"used_by": transfer_id, "used_at": now}}).modified_count == 1

    def record_limit_grant(self, grant: dict) -> None:
        """Keep who changed which limit, when (audit trail)."""
        self.tx["limit_grants"].insert_one(grant)


def _shard_id(account_id: str, shard: int) -> str:
    return f"{account_id}#{shard}"
