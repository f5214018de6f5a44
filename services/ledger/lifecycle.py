"""The lifecycle of accounts and transfers, shared by the command handlers and the event consumers.

Each step loads the aggregates it needs from the repository, lets them decide (model.Transfer and the
books it names: holds, limits, the hash chain), saves what changed and emits the event, all in the
caller's unit of work. Nothing here reads a request or knows whether commands are grouped."""
from __future__ import annotations

from dataclasses import replace

from shared.errors import NotFound, Unprocessable
from shared.uow import Tx
from services.ledger import events, loans, lots, model, stats
from services.ledger.ids import source_transfer_id
from services.ledger.model import REJECTED, Account, Actor, Transfer
from services.ledger.repository import LedgerRepository, TrustLines


# -- accounts ------------------------------------------------------------------------------------
def open_account(tx: Tx, repo: LedgerRepository, account: Account) -> Account:
    """Get or create an account, announcing AccountOpened exactly when it is created."""
    stored = repo.account(account.account_id)
    if stored is not None:
        return stored
    repo.add_account(account)
    events.account_opened(tx, account)
    return account


def member_account(tx: Tx, repo: LedgerRepository, community_id: str, member_id: str, unit: str) -> Account:
    """A member's account in `unit`, opened if it is not open yet: only for a member the community service
    announced (MemberJoined / MemberUpdated / MemberDeactivated). An HOUR account opens with the community's
    default credit limit (mutual credit: a newcomer can receive help first), a PT account at 0."""
    limit = repo.community(community_id)["hour_credit_limit"] if unit == "HOUR" else 0
    return open_account(tx, repo, model.member_of(community_id, member_id, unit, limit))


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
    return open_account(tx, repo, model.system_of(community_id, name, unit))


def merchant_account(tx: Tx, repo: LedgerRepository, community_id: str, merchant_id: str) -> Account:
    """A merchant's points account, opened if it is not open yet (only for MerchantRegistered/Updated)."""
    return open_account(tx, repo, model.merchant_of(community_id, merchant_id))


def partner_account(tx: Tx, repo: LedgerRepository, community_id: str, partner_id: str, unit: str) -> Account:
    """The clearing account a community keeps for a partner community (cross-community transfers post through
    it; unlimited: the trust line's net limit bounds it)."""
    return open_account(tx, repo, Account(model.partner_account_id(community_id, partner_id, unit), community_id,
                                          "partner", partner_id, unit, credit_limit=None))


def open_system_accounts(tx: Tx, repo: LedgerRepository, community_id: str) -> None:
    """Every system account of a community, in both units."""
    for name in model.SYSTEM_ACCOUNTS:
        for unit in model.UNITS:
            system_account(tx, repo, community_id, name, unit)


def set_status(repo: LedgerRepository, account_ids: list[str], status: str) -> int:
    """Mark accounts active or inactive; returns how many changed."""
    changed = [replace(a, status=status) for i in account_ids
               if (a := repo.account(i)) is not None and a.status != status]
    repo.save(*changed)
    return len(changed)


# -- the lifecycle of a transfer ---------------------------------------------------------------------
def new_transfer(*, transfer_id: str, community_id: str, workflow: str, unit: str, amount: int,
                 debit: Account, credit: Account, payer_id, payee_id, initiator_id: str, now,
                 ttl_days: int, reference=None, memo=None, source=None, details=None) -> Transfer:
    """A new pending transfer between two accounts of `unit` (callers rule out paying oneself)."""
    if debit.unit != unit or credit.unit != unit:
        raise Unprocessable("双方账户都须持有该转账的单位。 Both accounts must hold the transfer's unit.", code="wrong_unit")
    return Transfer(transfer_id=transfer_id, community_id=community_id, workflow=workflow, unit=unit,
                    amount=amount, debit_account=debit.account_id, credit_account=credit.account_id,
                    payer_id=payer_id, payee_id=payee_id, initiator_id=initiator_id, reference=reference,
                    memo=memo, created_at=now, expires_at=model.expires_at(now, ttl_days), source=source,
                    debit_shard=debit.shard_of(transfer_id), credit_shard=credit.shard_of(transfer_id),
                    details=details or {})


def start_pending(tx: Tx, repo: LedgerRepository, t: Transfer, *, require_funds: bool,
                  causation_id: str | None = None) -> Transfer:
    """Store a pending transfer holding the payer's funds; 422 (nothing written) when `require_funds`
    and the available balance does not cover it, else kept pending unreserved until confirm re-checks."""
    t, changed = t.reserve(repo.books(t), require_funds=require_funds)
    repo.save(*changed.values())
    repo.add_transfer(t)
    events.transfer_changed(tx, t, t.created_at, causation_id)
    return t


def post_pending(tx: Tx, repo: LedgerRepository, t: Transfer, by: str | None, now,
                 causation_id: str | None = None) -> Transfer:
    """Post a pending transfer: its journal entries, balances moved, hold released, TransferPosted (422 leaves it
    pending: the payer's limit is re-checked; across communities also the trust line, whose `net` moves and
    CrossTransferPosted is emitted in the same transaction)."""
    line = admitted_line(tx, t)
    done, changed, entries = t.post(repo.books(t), by, now)
    repo.save(*changed.values())
    repo.add_entries(entries)
    done = _lots_moved(tx, repo, done, now)
    repo.save_transfer(done)
    events.transfer_changed(tx, done, now, causation_id)
    _repay_debt(tx, repo, done, now)
    loans.repay_from(tx, repo, done, now)  # an award repays a points loan per its plan
    if line is not None:
        TrustLines(tx).save(line)
        events.cross_transfer_posted(tx, done, now)
    return done


# -- across communities (services/ledger/cross.py) -------------------------------------------------------
def admitted_line(tx: Tx, t: Transfer):
    """The trust line of a cross transfer as it will be once `t` posts (422 when it is not open or its net limit
    does not allow it); None for a transfer inside one community."""
    if not t.cross:
        return None
    line = TrustLines(tx).get(t.cross["trust_line_id"])
    if line is None:
        raise Unprocessable("与该社区没有互认额度。There is no trust line with this community.", code="no_trust_line")
    return line.admit(t.cross)


def start_cross(tx: Tx, repo: LedgerRepository, t: Transfer, *, require_funds: bool) -> Transfer:
    """Store a pending cross transfer: both communities' clearing accounts exist (opened on demand), then the
    payer's funds are held as for any pending debit."""
    c = t.cross
    partner_account(tx, repo, c["payer_community"], c["payee_community"], t.unit)
    partner_account(tx, repo, c["payee_community"], c["payer_community"], t.unit)
    return start_pending(tx, repo, t, require_funds=require_funds)


def post_at_once(tx: Tx, repo: LedgerRepository, t: Transfer, now, causation_id: str | None = None) -> Transfer:
    """Store and post in one step (system moves, a redemption approved with a valid pay code), resolved by
    `t.resolved_by`."""
    done, changed, entries = t.post(repo.books(t), t.resolved_by, now, stored=False)
    repo.save(*changed.values())
    repo.add_entries(entries)
    done = _lots_moved(tx, repo, done, now)
    repo.add_transfer(done)
    events.transfer_changed(tx, done, now, causation_id)
    _repay_debt(tx, repo, done, now)
    loans.repay_from(tx, repo, done, now)  # an award repays a points loan per its plan
    return done


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
    done, changed = t.close(state, by, now, reason, repo.books(t))
    repo.save(*changed.values())
    lots.on_closed(repo, done)
    repo.save_transfer(done)
    events.transfer_changed(tx, done, now)
    return done


def _lots_moved(tx: Tx, repo: LedgerRepository, t: Transfer, now) -> Transfer:
    """The member's point lots follow a posted PT transfer (lots.on_posted); the transfer records the lot lines
    (and a new honour level, announced as HonourLevelReached)."""
    items = lots.on_posted(repo, t, now)
    stats.on_posted(repo, t, now, items)  # the economy statistics read model, in the same transaction
    for item in items:
        if item["code"] == "level_reached":
            events.honour_level_reached(tx, t, item)
    return replace(t, details={**t.details, "lots": items}) if items else t


def _repay_debt(tx: Tx, repo: LedgerRepository, t: Transfer, now) -> None:
    """Points a member owes from a penalty larger than their balance are repaid first from what they receive
    (the lot was made smaller): that part moves on to `s:<c>:penalty:PT`, so the lots keep holding the balance."""
    repaid = [i for i in t.details.get("lots", ()) if i["code"] == "debt_repaid"]
    if not repaid:
        return
    source = f"debt:{t.transfer_id}"
    member = repo.require_account(t.credit_account)
    items = [dict(i) for i in repaid]
    repayment = new_transfer(transfer_id=source_transfer_id(source), community_id=t.community_id, workflow="system",
                             unit="PT", amount=-sum(i["points"] for i in repaid), debit=member,
                             credit=system_account(tx, repo, t.community_id, "penalty", "PT"),
                             payer_id=member.owner_id, payee_id=None, initiator_id=t.initiator_id, now=now,
                             ttl_days=0, source=source, reference={"kind": "penalty", "id": "debt"},
                             details={"economy": {"items": items, "repays_from": t.transfer_id}})
    post_at_once(tx, repo, repayment, now)
