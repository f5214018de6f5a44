"""Command and event handlers of the ledger: each runs inside one unit of work (one MongoDB transaction)
holding the state change, its journal entries and its outbox events."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import replace
from datetime import timedelta

from shared.errors import Forbidden, NotFound, Unprocessable
from shared.idempotency import UNREAD, once, record_id
from shared.mongo import utcnow
from shared.uow import Tx
from services.ledger import commands, events, model, rules
from services.ledger.model import CANCELLED, EXPIRED, POSTED, REJECTED, Account, Actor, Transfer
from services.ledger.repository import LedgerRepository, Snapshot
from services.ledger.views import account_view, transfer_view

PAY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud at a till
PAY_CODE_LENGTH = 8


def source_transfer_id(source: str) -> str:
    """The transfer id for a transfer created by an event fact: the same fact always gives the same id."""
    return "t_" + hashlib.sha256(source.encode()).hexdigest()[:32]


def pay_code_hash(code: str) -> str:
    """sha256 of a pay code as typed (case and spaces ignored)."""
    return hashlib.sha256(code.strip().upper().replace(" ", "").encode()).hexdigest()


def _key_scope(actor: Actor, scope: str) -> str:
    # Keys are per caller: two residents may pick the same key without seeing each other's answers.
    return f"ledger:{actor.community_id}:{actor.member_id}:{scope}"


def _key_id(actor: Actor, scope: str, key: str | None) -> str | None:
    """The id of the Idempotency-Key record, so it can be read together with the command's documents."""
    return record_id(_key_scope(actor, scope), key) if key is not None else None


def _idempotent(tx: Tx, actor: Actor, scope: str, key: str | None, body, compute, stored=UNREAD):
    return once(tx, _key_scope(actor, scope), key, body, compute, stored=stored)


# -- accounts ------------------------------------------------------------------------------------
def open_account(tx: Tx, repo: LedgerRepository, account: Account) -> Account:
    """Get or create an account, announcing AccountOpened exactly when it is created."""
    stored, created = repo.open(account)
    if created:
        events.account_opened(tx, stored)
    return stored


def member_of(community_id: str, member_id: str, unit: str, credit_limit: int = 0) -> Account:
    """A member's account in `unit` as it opens (not stored)."""
    return Account(model.member_account_id(community_id, member_id, unit), community_id, "member", member_id, unit,
                   credit_limit=credit_limit)


def merchant_of(community_id: str, merchant_id: str) -> Account:
    """A merchant's points account as it opens (not stored)."""
    return Account(model.merchant_account_id(community_id, merchant_id), community_id, "merchant", merchant_id, "PT")


def system_of(community_id: str, name: str, unit: str) -> Account:
    """A community system account as it opens (not stored); `issuance` is unlimited and sharded (hot)."""
    hot = name in model.SHARDED_SYSTEM_ACCOUNTS
    return Account(model.system_account_id(community_id, name, unit), community_id, "system", name, unit,
                   credit_limit=None if name == "issuance" else 0, shards=model.HOT_SHARDS if hot else 0)


def member_account(tx: Tx, repo: LedgerRepository, community_id: str, member_id: str, unit: str) -> Account:
    """A member's account in `unit`, opened if it is not open yet: only for a member the community service
    announced (MemberJoined / MemberUpdated / MemberDeactivated). An HOUR account opens with the community's
    default credit limit (mutual credit: a newcomer can receive help first), a PT account at 0."""
    limit = repo.community(community_id)["hour_credit_limit"] if unit == "HOUR" else 0
    return open_account(tx, repo, member_of(community_id, member_id, unit, limit))


def known_account(repo: LedgerRepository, account_id: str, detail: str) -> Account:
    """An account the ledger opened when it heard of its owner through events; 404 (nothing written) otherwise:
    a command never opens an account on the fly."""
    account = repo.account(account_id)
    if account is None:
        raise NotFound(detail, code="unknown_account")
    return account


def own_account(repo: LedgerRepository, actor: Actor, unit: str, account: Account | None = None) -> Account:
    """The caller's own account in `unit` (already read, or read now); 404 until MemberJoined has reached the
    ledger."""
    return account or known_account(repo, model.member_account_id(actor.community_id, actor.member_id, unit),
                                    "您的账户尚未开通，请稍后再试。Your account is not open yet; try again in a moment.")


def system_account(tx: Tx, repo: LedgerRepository, community_id: str, name: str, unit: str) -> Account:
    """A community system account, opened if it is not open yet (by CommunityCreated, or by the first move of a
    member or merchant the ledger knows in that community)."""
    return open_account(tx, repo, system_of(community_id, name, unit))


def merchant_account(tx: Tx, repo: LedgerRepository, community_id: str, merchant_id: str) -> Account:
    """A merchant's points account, opened if it is not open yet (only for MerchantRegistered/Updated)."""
    return open_account(tx, repo, merchant_of(community_id, merchant_id))


def partner_account(tx: Tx, repo: LedgerRepository, community_id: str, partner_id: str, unit: str) -> Account:
    """The clearing account for a partner community (used by cross-community exchange)."""
    return open_account(tx, repo, Account(model.partner_account_id(community_id, partner_id, unit), community_id,
                                          "partner", partner_id, unit))


def open_system_accounts(tx: Tx, repo: LedgerRepository, community_id: str) -> None:
    """Every system account of a community, in both units."""
    for name in model.SYSTEM_ACCOUNTS:
        for unit in model.UNITS:
            system_account(tx, repo, community_id, name, unit)


# -- the lifecycle of a transfer ---------------------------------------------------------------------
def new_transfer(*, transfer_id: str, community_id: str, workflow: str, unit: str, amount: int,
                  debit: Account, credit: Account, payer_id, payee_id, initiator_id: str, now,
                  ttl_days: int, reference=None, memo=None, source=None, details=None) -> Transfer:
    """A new pending transfer between two accounts of `unit` (callers rule out paying oneself)."""
    if debit.unit != unit or credit.unit != unit:
        raise Unprocessable("Both accounts must hold the transfer's unit.", code="wrong_unit")
    return Transfer(transfer_id=transfer_id, community_id=community_id, workflow=workflow, unit=unit,
                    amount=amount, debit_account=debit.account_id, credit_account=credit.account_id,
                    payer_id=payer_id, payee_id=payee_id, initiator_id=initiator_id, reference=reference,
                    memo=memo, created_at=now, expires_at=model.expires_at(now, ttl_days), source=source,
                    debit_shard=model.shard_of(transfer_id, debit.shards) if debit.shards else None,
                    credit_shard=model.shard_of(transfer_id, credit.shards) if credit.shards else None,
                    details=details or {})


def start_pending(tx: Tx, repo: LedgerRepository, t: Transfer, debit: Account, credit: Account, *,
                  require_funds: bool, causation_id: str | None = None) -> Transfer:
    """Store a pending transfer holding the payer's funds; 422 (nothing written) when `require_funds`
    and the available balance does not cover it, else kept pending unreserved until confirm re-checks."""
    held = repo.reserve(t, debit, credit)
    if held < t.amount and require_funds:
        raise Unprocessable("The available balance does not cover this transfer.", code="insufficient_funds")
    t = replace(t, reserved=held)
    repo.add_transfer(t)
    events.transfer_changed(tx, t, t.created_at, causation_id)
    return t


def post_pending(tx: Tx, repo: LedgerRepository, t: Transfer, by: str | None, now,
                 causation_id: str | None = None, accounts: dict[str, Account] | None = None) -> Transfer:
    """Post a pending transfer: both journal entries, balances moved, hold released, TransferPosted.
    `accounts` may hold both accounts if they were already read in this transaction."""
    accounts = accounts or {}
    debit = accounts.get(t.debit_account) or repo.require_account(t.debit_account)
    credit = accounts.get(t.credit_account) or repo.require_account(t.credit_account)
    repo.post(t, debit, credit, now, was_pending=True)  # 422 here leaves it pending: the limit is rechecked
    done = t.resolved(POSTED, by, now)
    repo.save_transfer(done)
    events.transfer_changed(tx, done, now, causation_id)
    return done


def post_at_once(tx: Tx, repo: LedgerRepository, t: Transfer, debit: Account, credit: Account, now,
                 causation_id: str | None = None) -> Transfer:
    """Store and post in one step (system moves, a redemption approved with a valid pay code)."""
    t = replace(t, state=POSTED, resolved_at=now, resolved_by=None)
    repo.post(replace(t, reserved=0), debit, credit, now, was_pending=False)
    repo.add_transfer(t)
    events.transfer_changed(tx, t, now, causation_id)
    return t


def store_rejected(tx: Tx, repo: LedgerRepository, t: Transfer, reason: str, now,
                   causation_id: str | None = None) -> Transfer:
    """Record a transfer that was refused on arrival (e.g. an invalid pay code) and say so."""
    t = replace(t, state=REJECTED, reason=reason, resolved_at=now, reserved=0)
    repo.add_transfer(t)
    events.transfer_changed(tx, t, now, causation_id)
    return t


def close_pending(tx: Tx, repo: LedgerRepository, t: Transfer, state: str, by: str | None, now,
                  reason: str | None = None) -> Transfer:
    """Reject, cancel or expire a pending transfer: the hold is released, nothing is posted."""
    debit, credit = repo.require_account(t.debit_account), repo.require_account(t.credit_account)
    repo.release(t, debit, credit)
    done = t.resolved(state, by, now, reason)
    repo.save_transfer(done)
    events.transfer_changed(tx, done, now)
    return done


def _load(repo: LedgerRepository, transfer_id: str, actor: Actor, snap: Snapshot | None = None) -> Transfer:
    t = snap.transfer if snap is not None else repo.transfer(transfer_id)
    if t is None or t.community_id != actor.community_id:
        raise NotFound("No such transfer.", code="unknown_transfer")
    return t


def _counterparty_account(repo: LedgerRepository, actor: Actor, counterparty_id: str, unit: str,
                          snap: Snapshot) -> Account:
    if counterparty_id == actor.member_id:
        raise Unprocessable("You cannot send a transfer to yourself.", code="self_transfer")
    account = snap.accounts.get(model.member_account_id(actor.community_id, counterparty_id, unit))
    if account is None:
        raise NotFound("The other member has no account in this community.", code="unknown_account")
    if account.status != "active":
        raise Unprocessable("The other member's account is closed.", code="account_inactive")
    return account


# -- commands from the HTTP API ---------------------------------------------------------------------
def _create_reads(cmd: commands.CreateTransfer) -> dict:
    """What create_transfer decides on: the key's record, the community's settings, my account and the
    counterparty's (or the issuance account for an award)."""
    actor = cmd.actor
    mine_id = model.member_account_id(actor.community_id, actor.member_id, cmd.unit)
    other_id = (model.system_account_id(actor.community_id, "issuance", cmd.unit) if cmd.workflow == "award"
                else model.member_account_id(actor.community_id, cmd.counterparty_id, cmd.unit)
                if cmd.counterparty_id else None)
    return {"key_id": _key_id(actor, "transfers", cmd.idempotency_key), "community_id": actor.community_id,
            "account_ids": [a for a in (mine_id, other_id) if a]}


def _resolve_reads(cmd) -> dict:
    """What confirm / reject / cancel decide on: the key's record, the transfer and both of its accounts."""
    return {"key_id": _key_id(cmd.actor, f"{RESOLVE_VERBS[type(cmd)]}:{cmd.transfer_id}", cmd.idempotency_key),
            "transfer_id": cmd.transfer_id}


def prefetch(tx: Tx, cmds: list) -> None:
    """Read what a group of HTTP commands needs in one round trip, before their handlers run (group commit)."""
    reads = [_create_reads(c) if isinstance(c, commands.CreateTransfer) else _resolve_reads(c) for c in cmds]
    LedgerRepository(tx).load(keys=[r["key_id"] for r in reads if r.get("key_id")],
                              communities=[r["community_id"] for r in reads if r.get("community_id")],
                              accounts=[a for r in reads for a in r.get("account_ids", ())],
                              transfers=[r["transfer_id"] for r in reads if r.get("transfer_id")])


def create_transfer(cmd: commands.CreateTransfer, tx: Tx) -> tuple[dict, int]:
    """A resident bills (is paid by) or credits (pays) another member, or claims an award."""
    actor = cmd.actor
    repo = LedgerRepository(tx)
    reads = _create_reads(cmd)
    mine_id, other_id = (reads["account_ids"] + [None])[:2]
    snap = repo.snapshot(**reads)

    def compute():
        now = utcnow()
        unit = model.check_unit(cmd.unit)
        community = snap.community
        mine = own_account(repo, actor, unit, snap.accounts.get(mine_id))
        if mine.status != "active":
            raise Unprocessable("Your account is closed.", code="account_inactive")
        common = dict(transfer_id="t_" + uuid.uuid4().hex, community_id=actor.community_id, unit=unit,
                      initiator_id=actor.member_id, now=now, ttl_days=community["pending_ttl_days"],
                      memo=cmd.memo, reference={"kind": "manual", "id": actor.member_id})
        if cmd.workflow == "award":
            amount = cmd.minutes if unit == "HOUR" else rules.award_points(
                rules.rules_from_settings(community.get("settings")), minutes=cmd.minutes,
                activity_type=cmd.activity_type, service_class=cmd.service_class)
            if amount <= 0:
                raise Unprocessable("Under the community's rules this claim earns nothing.", code="no_points")
            issuance = snap.accounts.get(other_id) or system_account(tx, repo, actor.community_id, "issuance", unit)
            t = new_transfer(workflow="award", amount=amount, debit=issuance, credit=mine, payer_id=None,
                              payee_id=actor.member_id, details={"minutes": cmd.minutes,
                                                                 "activity_type": cmd.activity_type,
                                                                 "service_class": cmd.service_class}, **common)
            t = start_pending(tx, repo, t, issuance, mine, require_funds=True)
            return transfer_view(t), 201
        amount = model.check_amount(cmd.amount)
        other = _counterparty_account(repo, actor, cmd.counterparty_id, unit, snap)
        if cmd.workflow == "bill":  # I am paid; the other member confirms
            t = new_transfer(workflow="bill", amount=amount, debit=other, credit=mine, payer_id=other.owner_id,
                              payee_id=actor.member_id, **common)
            # The payee cannot know the payer's balance: hold what fits now, recheck at confirm.
            t = start_pending(tx, repo, t, other, mine, require_funds=False)
        else:  # credit: I pay; the other member accepts
            t = new_transfer(workflow="credit", amount=amount, debit=mine, credit=other, payer_id=actor.member_id,
                              payee_id=other.owner_id, **common)
            t = start_pending(tx, repo, t, mine, other, require_funds=True)
            if other.auto_accept_credits:
                # The payee's standing consent is their confirmation: pending then posted, by them.
                t = post_pending(tx, repo, t, other.owner_id, now)
        return transfer_view(t), 201

    return _idempotent(tx, actor, "transfers", cmd.idempotency_key, cmd.body, compute, stored=snap.key_record)


def confirm_transfer(cmd: commands.ConfirmTransfer, tx: Tx) -> tuple[dict, int]:
    """The counterparty confirms: post it (a second confirm answers the same, posting nothing)."""
    scope = f"confirm:{cmd.transfer_id}"
    repo = LedgerRepository(tx)
    snap = repo.snapshot(**_resolve_reads(cmd))

    def compute():
        now = utcnow()
        t = _load(repo, cmd.transfer_id, cmd.actor, snap)
        if t.confirm(cmd.actor, now):
            t = post_pending(tx, repo, t, cmd.actor.member_id, now, accounts=snap.accounts)
        return transfer_view(t), 200
    return _idempotent(tx, cmd.actor, scope, cmd.idempotency_key, {}, compute, stored=snap.key_record)


def _close(cmd, tx: Tx, verb: str, state: str) -> tuple[dict, int]:
    """Reject or cancel (`verb`, the Transfer's check of who may) a pending transfer: the hold is released."""
    repo = LedgerRepository(tx)
    snap = repo.snapshot(**_resolve_reads(cmd))

    def compute():
        now = utcnow()
        t = _load(repo, cmd.transfer_id, cmd.actor, snap)
        if getattr(t, verb)(cmd.actor, now):
            t = close_pending(tx, repo, t, state, cmd.actor.member_id, now, cmd.reason or state)
        return transfer_view(t), 200
    return _idempotent(tx, cmd.actor, f"{verb}:{cmd.transfer_id}", cmd.idempotency_key,
                       {"reason": cmd.reason}, compute, stored=snap.key_record)


def reject_transfer(cmd: commands.RejectTransfer, tx: Tx) -> tuple[dict, int]:
    """The counterparty rejects: the hold is released."""
    return _close(cmd, tx, "reject", REJECTED)


def cancel_transfer(cmd: commands.CancelTransfer, tx: Tx) -> tuple[dict, int]:
    """The initiator withdraws a pending transfer."""
    return _close(cmd, tx, "cancel", CANCELLED)


def grant_credit_limit(cmd: commands.GrantCreditLimit, tx: Tx) -> tuple[dict, int]:
    """An admin sets a member's or merchant's credit limit (points loan / hours overdraft)."""
    def compute():
        repo = LedgerRepository(tx)
        account = repo.account(cmd.account_id)
        # Only an account the ledger opened from events: a member who has not joined (or whose MemberJoined has
        # not reached the ledger yet) has none, and a loan must not open one.
        if account is None or account.community_id != cmd.actor.community_id:
            raise NotFound("没有这个账户。No such account.", code="unknown_account")
        account.check_new_limit(cmd.credit_limit)
        repo.set_credit_limit(account.account_id, cmd.credit_limit)
        repo.record_limit_grant({"account_id": account.account_id, "community_id": account.community_id,
                                 "previous": account.credit_limit, "credit_limit": cmd.credit_limit,
                                 "granted_by": cmd.actor.member_id, "at": utcnow()})
        changed = replace(account, credit_limit=cmd.credit_limit)
        # Read models elsewhere (settlement's till balance check) must learn of a points loan.
        events.account_opened(tx, changed, "CreditLimitChanged", previous=account.credit_limit)
        return account_view(changed), 200
    return _idempotent(tx, cmd.actor, f"limit:{cmd.account_id}", cmd.idempotency_key, cmd.body, compute)


def set_gift_preference(cmd: commands.SetGiftPreference, tx: Tx) -> dict:
    """Opt in or out of accepting gifts automatically, for both units."""
    repo = LedgerRepository(tx)
    accounts = [own_account(repo, cmd.actor, unit) for unit in model.UNITS]
    repo.set_auto_accept([a.account_id for a in accounts], cmd.auto_accept_credits)
    return {"auto_accept_credits": cmd.auto_accept_credits}


def issue_pay_code(cmd: commands.IssuePayCode, tx: Tx) -> tuple[dict, int]:
    """A one-time code for the till; only its sha256 is stored (no idempotent replay: that would keep it)."""
    repo = LedgerRepository(tx)
    if own_account(repo, cmd.actor, "PT").status != "active":
        raise Unprocessable("您的账户已停用。Your account is closed.", code="account_inactive")
    code = "".join(secrets.choice(PAY_CODE_ALPHABET) for _ in range(PAY_CODE_LENGTH))
    now = utcnow()
    doc = {"_id": "pc_" + uuid.uuid4().hex[:20], "community_id": cmd.actor.community_id,
           "member_id": cmd.actor.member_id, "code_sha256": pay_code_hash(code), "max_points": cmd.max_points,
           "created_at": now, "expires_at": now + timedelta(seconds=cmd.ttl_seconds), "used_by": None}
    repo.add_pay_code(doc)
    events.pay_code_issued(tx, doc)
    return {"code_id": doc["_id"], "code": code, "max_points": cmd.max_points,
            "expires_at": doc["expires_at"].isoformat()}, 201


def expire_transfer(cmd: commands.ExpireTransfer, tx: Tx) -> str | None:
    """Lapse one pending transfer past its TTL (auto-confirm a bill when the community chose that);
    a no-op when it is no longer pending, so two schedulers never apply it twice."""
    repo = LedgerRepository(tx)
    now = utcnow()
    t = repo.transfer(cmd.transfer_id)
    if t is None or not t.is_lapsed(now):
        return None
    if t.workflow == "bill" and repo.community(t.community_id)["bill_auto_confirm"]:
        debit = repo.require_account(t.debit_account)
        if debit.can_post(t.amount, t.reserved):
            return post_pending(tx, repo, t, None, now).state
    return close_pending(tx, repo, t, EXPIRED, None, now, "ttl_elapsed").state


def reverse_transfer(cmd: commands.ReverseTransfer, tx: Tx) -> tuple[dict, int]:
    """An admin compensates a posted transfer with an opposite one that references it (entries stay)."""
    actor, transfer_id, reason = cmd.actor, cmd.transfer_id, cmd.reason

    def compute():
        repo = LedgerRepository(tx)
        now = utcnow()
        original = _load(repo, transfer_id, actor)
        if not actor.has_role("admin"):
            raise Forbidden("Only a community admin can reverse a transfer.", code="role_required")
        if original.state != POSTED:
            raise Unprocessable("Only a posted transfer can be reversed.", code="not_posted")
        source = f"reversal:{original.transfer_id}"
        tid = source_transfer_id(source)
        existing = repo.transfer(tid)
        if existing is not None:
            return transfer_view(existing), 201
        debit, credit = repo.require_account(original.credit_account), repo.require_account(original.debit_account)
        if not debit.can_post(original.amount, 0):
            # E.g. a redemption whose points already went to `sponsor` with the merchant's paid batch.
            raise Unprocessable(f"要退回的账户现有积分不足 {original.amount}（可能已随结算转出），待其再收到足够积分后再冲正。"
                                f"The account to take the amount back from holds less than {original.amount} now "
                                "(a merchant's points leave with each paid settlement batch); reverse it once it "
                                "holds that much again.", code="insufficient_funds", account_id=debit.account_id)
        t = new_transfer(transfer_id=tid, community_id=original.community_id, workflow="system",
                          unit=original.unit, amount=original.amount, debit=debit, credit=credit,
                          payer_id=original.payee_id, payee_id=original.payer_id, initiator_id=actor.member_id,
                          now=now, ttl_days=0, reference={"kind": "reversal", "id": original.transfer_id},
                          memo=reason, source=source,
                          # What it compensates, so other services can act on it (settlement: a reversed
                          # redemption leaves the merchant's next batch or is charged back against it).
                          details={"reverses": {"transfer_id": original.transfer_id, "workflow": original.workflow,
                                                "reference": original.reference}})
        return transfer_view(post_at_once(tx, repo, t, debit, credit, now)), 201
    return _idempotent(tx, actor, f"reverse:{transfer_id}", cmd.idempotency_key, {"reason": reason}, compute)


RESOLVE_VERBS = {commands.ConfirmTransfer: "confirm", commands.RejectTransfer: "reject",
                 commands.CancelTransfer: "cancel"}
# The residents' money moves: many arrive at once, so they share transactions (shared.groupcommit).
GROUPED = (commands.CreateTransfer, *RESOLVE_VERBS)

HANDLERS = {
    commands.CreateTransfer: create_transfer,
    commands.ConfirmTransfer: confirm_transfer,
    commands.RejectTransfer: reject_transfer,
    commands.CancelTransfer: cancel_transfer,
    commands.GrantCreditLimit: grant_credit_limit,
    commands.SetGiftPreference: set_gift_preference,
    commands.IssuePayCode: issue_pay_code,
    commands.ExpireTransfer: expire_transfer,
    commands.ReverseTransfer: reverse_transfer,
}
