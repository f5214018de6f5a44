"""Command handlers of the ledger: each runs inside one unit of work (one MongoDB transaction, alone or in a
group: bootstrap decides) holding the state change, its journal entries and its outbox events. They check
who may do what, load through the repository, and leave the money to the lifecycle and the aggregates."""
from __future__ import annotations

import secrets
import uuid
from dataclasses import replace
from datetime import timedelta

from shared.economy import Activity
from shared.errors import Forbidden, NotFound, Unprocessable
from shared.idempotency import UNREAD, once
from shared.mongo import utcnow
from shared.uow import Tx
from services.ledger import appeals, commands, cross, economy, events, model
from services.ledger.answers import account_view, transfer_view
from services.ledger.ids import PAY_CODE_ALPHABET, PAY_CODE_LENGTH, key_scope, pay_code_hash, source_transfer_id
from services.ledger.lifecycle import (close_pending, new_transfer, own_account, post_at_once, post_pending,
                                       start_cross, start_pending, system_account)
from services.ledger.model import CANCELLED, EXPIRED, POSTED, REJECTED, Account, Actor, Transfer
from services.ledger.reads import key_scope_of, reads_of
from services.ledger.repository import LedgerRepository, Snapshot, TrustLines


def _idempotent(tx: Tx, actor: Actor, scope: str, key: str | None, body, compute, stored=UNREAD):
    return once(tx, key_scope(actor, scope), key, body, compute, stored=stored)


def _load(repo: LedgerRepository, transfer_id: str, actor: Actor, snap: Snapshot | None = None) -> Transfer:
    t = snap.transfer if snap is not None else repo.transfer(transfer_id)
    if t is None or actor.community_id not in t.communities():
        raise NotFound("没有这笔转账。 No such transfer.", code="unknown_transfer")
    return t


def _counterparty_account(actor: Actor, counterparty_id: str, unit: str, snap: Snapshot,
                          community_id: str | None = None) -> Account:
    community_id = community_id or actor.community_id
    if counterparty_id == actor.member_id and community_id == actor.community_id:
        raise Unprocessable("不能给自己转账。 You cannot send a transfer to yourself.", code="self_transfer")
    account = snap.accounts.get(model.member_account_id(community_id, counterparty_id, unit))
    if account is None:
        raise NotFound("对方在本社区没有账户。 The other member has no account in this community.", code="unknown_account")
    if account.status != "active":
        raise Unprocessable("对方的账户已关闭。 The other member's account is closed.", code="account_inactive")
    return account


# -- commands from the HTTP API ---------------------------------------------------------------------
def create_transfer(cmd: commands.CreateTransfer, tx: Tx) -> tuple[dict, int]:
    """A resident bills (is paid by) or credits (pays) another member, or claims an award."""
    actor = cmd.actor
    repo = LedgerRepository(tx)
    reads = reads_of(cmd)
    mine_id, other_id = (reads["account_ids"] + [None])[:2]
    snap = repo.snapshot(**reads)

    def compute():
        now = utcnow()
        unit = model.check_unit(cmd.unit)
        community = snap.community
        mine = own_account(repo, actor, unit, snap.accounts.get(mine_id))
        if mine.status != "active":
            raise Unprocessable("您的账户已关闭。 Your account is closed.", code="account_inactive")
        common = dict(transfer_id=cmd.transfer_id, community_id=actor.community_id, unit=unit,
                      initiator_id=actor.member_id, now=now, ttl_days=community["pending_ttl_days"],
                      memo=cmd.memo, reference={"kind": "manual", "id": actor.member_id})
        if cmd.workflow == "award":
            award = None
            if unit == "HOUR":
                amount = cmd.minutes
            else:  # shared.economy under the rules in effect now, from the member's history
                amount, award = economy.award_for(repo, actor.community_id, actor.member_id, now, Activity(
                    cmd.activity_type, cmd.minutes, cmd.service_class))
            if amount <= 0:
                raise Unprocessable("按社区积分规则，这次申领得不到积分。 Under the community's rules this claim earns "
                                    "nothing.", code="no_points", award=award)
            issuance = snap.accounts.get(other_id) or system_account(tx, repo, actor.community_id, "issuance", unit)
            t = new_transfer(workflow="award", amount=amount, debit=issuance, credit=mine, payer_id=None,
                             payee_id=actor.member_id, details={"minutes": cmd.minutes,
                                                                "activity_type": cmd.activity_type,
                                                                "service_class": cmd.service_class,
                                                                **({"award": award} if award else {})}, **common)
            return transfer_view(start_pending(tx, repo, t, require_funds=True)), 201
        amount = model.check_amount(cmd.amount)
        if cmd.counterparty_community not in (None, actor.community_id):
            return transfer_view(_create_cross(tx, repo, cmd, snap, mine, amount, common)), 201
        other = _counterparty_account(actor, cmd.counterparty_id, unit, snap)
        if cmd.workflow == "bill":  # I am paid; the other member confirms
            t = new_transfer(workflow="bill", amount=amount, debit=other, credit=mine, payer_id=other.owner_id,
                             payee_id=actor.member_id, **common)
            # The payee cannot know the payer's balance: hold what fits now, recheck at confirm.
            t = start_pending(tx, repo, t, require_funds=False)
        else:  # credit: I pay; the other member accepts
            t = new_transfer(workflow="credit", amount=amount, debit=mine, credit=other, payer_id=actor.member_id,
                             payee_id=other.owner_id, **common)
            t = start_pending(tx, repo, t, require_funds=True)
            if other.auto_accept_credits:
                # The payee's standing consent is their confirmation: pending then posted, by them.
                t = post_pending(tx, repo, t, other.owner_id, now)
        return transfer_view(t), 201

    return _idempotent(tx, actor, key_scope_of(cmd), cmd.idempotency_key, cmd.body, compute,
                       stored=snap.key_record)


def _create_cross(tx: Tx, repo: LedgerRepository, cmd: commands.CreateTransfer, snap: Snapshot, mine: Account,
                  amount: int, common: dict) -> Transfer:
    """A resident pays (`credit`) or bills (`bill`) a member of a partner community: priced through the open trust
    line at today's rate (both amounts fixed on the transfer), the payer's funds held as for any pending debit
    (a bill holds what fits), the counterparty confirms. A gift across communities is never auto-accepted."""
    other = _counterparty_account(cmd.actor, cmd.counterparty_id, mine.unit, snap, cmd.counterparty_community)
    line = cross.line_for(TrustLines(tx).between(mine.community_id, other.community_id, mine.unit))
    payer, payee = (mine, other) if cmd.workflow == "credit" else (other, mine)
    terms = line.price(cmd.workflow, amount, payer.community_id)
    t = new_transfer(workflow=cmd.workflow, amount=terms["debit_amount"], debit=payer, credit=payee,
                     payer_id=payer.owner_id, payee_id=payee.owner_id, **{**common, "community_id": payer.community_id})
    return start_cross(tx, repo, replace(t, cross=terms), require_funds=cmd.workflow == "credit")


def confirm_transfer(cmd: commands.ConfirmTransfer, tx: Tx) -> tuple[dict, int]:
    """The counterparty confirms: post it (a second confirm answers the same, posting nothing)."""
    repo = LedgerRepository(tx)
    snap = repo.snapshot(**reads_of(cmd))

    def compute():
        now = utcnow()
        t = _load(repo, cmd.transfer_id, cmd.actor, snap)
        economy.check_award_grid(repo, cmd.actor, t)
        if t.confirm(cmd.actor, now):
            t = post_pending(tx, repo, economy.release(t, cmd.actor), cmd.actor.member_id, now)
        return transfer_view(t), 200
    return _idempotent(tx, cmd.actor, key_scope_of(cmd), cmd.idempotency_key, {}, compute, stored=snap.key_record)


def _close(cmd, tx: Tx, verb: str, state: str) -> tuple[dict, int]:
    """Reject or cancel (`verb`, the Transfer's check of who may) a pending transfer: the hold is released."""
    repo = LedgerRepository(tx)
    snap = repo.snapshot(**reads_of(cmd))

    def compute():
        now = utcnow()
        t = _load(repo, cmd.transfer_id, cmd.actor, snap)
        economy.check_award_grid(repo, cmd.actor, t)
        if getattr(t, verb)(cmd.actor, now):
            t = close_pending(tx, repo, t, state, cmd.actor.member_id, now, cmd.reason or state)
        return transfer_view(t), 200
    return _idempotent(tx, cmd.actor, key_scope_of(cmd), cmd.idempotency_key, {"reason": cmd.reason}, compute,
                       stored=snap.key_record)


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
        changed = account.with_limit(cmd.credit_limit)
        repo.save(changed)
        repo.record_limit_grant({"account_id": account.account_id, "community_id": account.community_id,
                                 "previous": account.credit_limit, "credit_limit": cmd.credit_limit,
                                 "granted_by": cmd.actor.member_id, "at": utcnow()})
        # Read models elsewhere (settlement's till balance check) must learn of a points loan.
        events.account_opened(tx, changed, "CreditLimitChanged", previous=account.credit_limit)
        return account_view(changed), 200
    return _idempotent(tx, cmd.actor, f"limit:{cmd.account_id}", cmd.idempotency_key, cmd.body, compute)


def set_gift_preference(cmd: commands.SetGiftPreference, tx: Tx) -> dict:
    """Opt in or out of accepting gifts automatically, for both units."""
    repo = LedgerRepository(tx)
    accounts = [own_account(repo, cmd.actor, unit) for unit in model.UNITS]
    repo.save(*(replace(a, auto_accept_credits=cmd.auto_accept_credits) for a in accounts))
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
    t = repo.snapshot(transfer_id=cmd.transfer_id).transfer  # with its accounts and shards: one round trip
    if t is None or not t.is_lapsed(now):
        return None
    if t.workflow == "bill" and not t.cross and repo.community(t.community_id)["bill_auto_confirm"]:
        if repo.book(t.payer_book).can_post(t.amount, t.reserved):
            return post_pending(tx, repo, t, None, now).state
    return close_pending(tx, repo, t, EXPIRED, None, now, "ttl_elapsed").state


def reverse_transfer(cmd: commands.ReverseTransfer, tx: Tx) -> tuple[dict, int]:
    """An admin compensates a posted transfer with an opposite one that references it (entries stay)."""
    actor, transfer_id, reason = cmd.actor, cmd.transfer_id, cmd.reason

    def compute():
        repo = LedgerRepository(tx)
        now = utcnow()
        source = f"reversal:{transfer_id}"
        tid = source_transfer_id(source)
        repo.load(transfers=[transfer_id, tid])  # the original with its accounts, and a reversal made before
        original = _load(repo, transfer_id, actor)
        if not actor.has_role("admin"):
            raise Forbidden("只有社区管理员可以冲正转账。 Only a community admin can reverse a transfer.", code="role_required")
        if original.state != POSTED:
            raise Unprocessable("只有已入账的转账可以冲正。 Only a posted transfer can be reversed.", code="not_posted")
        existing = repo.transfer(tid)
        if existing is not None:
            return transfer_view(existing), 201
        debit, credit = repo.require_account(original.credit_account), repo.require_account(original.debit_account)
        t = new_transfer(transfer_id=tid, community_id=original.community_id, workflow="system",
                         unit=original.unit, amount=original.amount, debit=debit, credit=credit,
                         payer_id=original.payee_id, payee_id=original.payer_id, initiator_id=actor.member_id,
                         now=now, ttl_days=0, reference={"kind": "reversal", "id": original.transfer_id},
                         memo=reason, source=source,
                         # What it compensates, so other services can act on it (settlement: a reversed
                         # redemption leaves the merchant's next batch or is charged back against it).
                         details={"reverses": {"transfer_id": original.transfer_id, "workflow": original.workflow,
                                               "reference": original.reference}})
        if not repo.book(t.payer_book).can_post(original.amount, 0):
            # E.g. a redemption whose points already went to `sponsor` with the merchant's paid batch.
            raise Unprocessable(f"要退回的账户现有积分不足 {original.amount}（可能已随结算转出），待其再收到足够积分后再冲正。"
                                f"The account to take the amount back from holds less than {original.amount} now "
                                "(a merchant's points leave with each paid settlement batch); reverse it once it "
                                "holds that much again.", code="insufficient_funds", account_id=debit.account_id)
        return transfer_view(post_at_once(tx, repo, t, now)), 201
    return _idempotent(tx, actor, f"reverse:{transfer_id}", cmd.idempotency_key, {"reason": reason}, compute)


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
    **economy.HANDLERS,
    **appeals.HANDLERS,
}
