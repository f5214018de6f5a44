"""What the ledger does with other services' events. Each handler runs in the consumer's transaction
(the processed-event record, the effect and its outbox rows commit together). Transfers created from an
event get an id derived from the source fact (claim, redemption, batch), so a re-emitted fact with a new
event id still finds the transfer it already made."""
from __future__ import annotations

from dataclasses import replace

from shared import topics
from shared.consumer import Subscription
from shared.economy import Activity
from shared.envelope import Event
from shared.mongo import utcnow
from shared.uow import Tx
from services.ledger import lifecycle as life
from services.ledger import appeals, appeals_schemas, economy, events, exchange_feed, federated, lots, model, schemas
from services.ledger import report_awards, stats
from services.ledger.ids import pay_code_hash, source_transfer_id
from services.ledger.model import Account
from services.ledger.repository import LedgerRepository

GROUP = "ledger"
TOPICS = (topics.COMMUNITY, topics.REQUESTS, topics.SETTLEMENT, topics.EXCHANGE)


def on_community(event: Event, p: dict, tx: Tx) -> None:
    """CommunityCreated / CommunityUpdated: keep its ledger settings; open its system accounts."""
    repo = LedgerRepository(tx)
    s = p["settings"]
    repo.save_community(p["community_id"], {"pending_ttl_days": s["pending_ttl_days"],
                                            "bill_auto_confirm": s["bill_auto_confirm"],
                                            "hour_credit_limit": s["hour_credit_limit_minutes"],
                                            "point_value_fen": p["point_value_fen"],
                                            "timezone": s["timezone"]})
    life.open_system_accounts(tx, repo, p["community_id"])


def _party(repo: LedgerRepository, stand_in: Account) -> tuple[Account, bool]:
    """The stored account with `stand_in`'s id and True, or `stand_in` itself (never stored) and False: an event
    naming a party the ledger has not heard of opens nothing; the transfer is recorded refused instead."""
    stored = repo.account(stand_in.account_id)
    return (stored, True) if stored is not None else (stand_in, False)


def on_member(event: Event, p: dict, tx: Tx) -> None:
    """MemberJoined / MemberUpdated: the member's HOUR and PT accounts exist, open or closed per status."""
    repo = LedgerRepository(tx)
    ids = [life.member_account(tx, repo, p["community_id"], p["member_id"], u).account_id for u in model.UNITS]
    life.set_status(repo, ids, "active" if p["status"] == "active" else "inactive")
    lots.remember_grid(repo, p["community_id"], p["member_id"], p["grid_id"])
    stats.member_placed(repo, p["community_id"], p["member_id"], p["grid_id"], p["status"] == "active",
                        p["board_name"], utcnow())


def on_member_deactivated(event: Event, p: dict, tx: Tx) -> None:
    """MemberDeactivated: no new transfers to or from the member (balances and history stay)."""
    repo = LedgerRepository(tx)
    ids = [life.member_account(tx, repo, p["community_id"], p["member_id"], u).account_id for u in model.UNITS]
    life.set_status(repo, ids, "inactive")
    stats.member_placed(repo, p["community_id"], p["member_id"], None, False, None, utcnow())


def on_merchant(event: Event, p: dict, tx: Tx) -> None:
    """MerchantRegistered / MerchantUpdated: the merchant's points account exists."""
    life.merchant_account(tx, LedgerRepository(tx), p["community_id"], p["merchant_id"])


MEMO_MAX = 140  # as a memo typed through the API


def memo_of(*parts: str | None) -> str | None:
    """A transfer's human title from the facts an event carries ("茶馆 · 菊花茶"), None if it carries none."""
    text = " · ".join(p.strip() for p in parts if p and p.strip())
    return text[:MEMO_MAX] or None


def on_help_claimed(event: Event, p: dict, tx: Tx) -> None:
    """HelpClaimed: a pending bill (a member pays the helper) or award (the community pays the helper)."""
    repo = LedgerRepository(tx)
    source = f"claim:{p['claim_id']}"
    tid = source_transfer_id(source)
    if repo.transfer(tid) is not None:
        return
    cid, unit, now = p["community_id"], p["unit"], utcnow()
    community = repo.community(cid)
    helper, helper_known = _party(repo, model.member_of(cid, p["helper_id"], unit))
    award = not p["payer_id"]  # null payer: the community pays
    details = {"minutes": p["minutes"], "activity_type": p["activity_type"], "service_class": p["service_class"],
               "claim_id": p["claim_id"]}
    if unit == "HOUR" or not helper_known:
        amount = p["minutes"] if unit == "HOUR" else 0  # an hour of help is an hour, whatever the task
    else:  # shared.economy under the rules in effect when the help was claimed, from the helper's history
        amount, details["award"] = economy.award_for(repo, cid, p["helper_id"], lots.aware(event.occurred_at),
                                                     Activity(p["activity_type"], p["minutes"], p["service_class"],
                                                              tuple(p["bonuses"]), p["rating"]))
    if award:
        # Issuance opens with the first award of a member the ledger knows, never for a stranger's claim.
        debit, payer_known = (life.system_account(tx, repo, cid, "issuance", unit), True) if helper_known \
            else _party(repo, model.system_of(cid, "issuance", unit))
    else:
        debit, payer_known = _party(repo, model.member_of(cid, p["payer_id"], unit))
    t = life.new_transfer(transfer_id=tid, community_id=cid, workflow="award" if award else "bill", unit=unit,
                        amount=max(amount, 1), debit=debit, credit=helper, payer_id=None if award else p["payer_id"],
                        payee_id=p["helper_id"], initiator_id=p["helper_id"], now=now,
                        ttl_days=community["pending_ttl_days"], source=source,
                        reference={"kind": p["source"], "id": p["request_id"]}, memo=memo_of(p["title"]),
                        details=details)
    if not (helper_known and payer_known):
        # Requests named someone the ledger never heard of: refuse, so the request shows it (RequestDisputed).
        life.store_rejected(tx, repo, t, "unknown_account", now, event.id)
    elif amount <= 0:
        life.store_rejected(tx, repo, replace(t, amount=0), "no_points_under_rules", now, event.id)
    elif debit.account_id == helper.account_id:
        life.store_rejected(tx, repo, t, "self_transfer", now, event.id)
    else:
        life.start_pending(tx, repo, t, require_funds=False, causation_id=event.id)


def on_redemption_requested(event: Event, p: dict, tx: Tx) -> None:
    """RedemptionRequested: a pending redemption the member approves, or posted at once with a valid pay code."""
    repo = LedgerRepository(tx)
    source = f"redemption:{p['redemption_id']}"
    tid = source_transfer_id(source)
    if repo.transfer(tid) is not None:
        return
    cid, now = p["community_id"], utcnow()
    community = repo.community(cid)
    member, member_known = _party(repo, model.member_of(cid, p["member_id"], "PT"))
    merchant, merchant_known = _party(repo, model.merchant_of(cid, p["merchant_id"]))
    t = life.new_transfer(transfer_id=tid, community_id=cid, workflow="redeem", unit="PT", amount=p["points"],
                        debit=member, credit=merchant, payer_id=p["member_id"], payee_id=p["merchant_id"],
                        initiator_id=p["staff_id"] or p["merchant_id"], now=now,
                        ttl_days=community["pending_ttl_days"], source=source,
                        reference={"kind": "redemption", "id": p["redemption_id"]},
                        memo=memo_of(p["merchant_name"], p["item_name"]))
    if not (member_known and merchant_known):
        life.store_rejected(tx, repo, t, "unknown_account", now, event.id)  # settlement declines the redemption
        return
    if p["pay_code"]:
        code = repo.pay_code(cid, p["member_id"], pay_code_hash(p["pay_code"]))
        if code is None or code["used_by"] is not None or code["expires_at"] <= now \
                or p["points"] > code["max_points"]:
            life.store_rejected(tx, repo, t, "pay_code_invalid", now, event.id)
            return
        if not member.can_post(t.amount, 0):
            life.store_rejected(tx, repo, t, "insufficient_funds", now, event.id)
            return
        repo.use_pay_code(code, tid, now)
        life.post_at_once(tx, repo, replace(t, resolved_by=p["member_id"]), now, event.id)
        events.pay_code_used(tx, code, tid)
        return
    if not member.can_reserve(t.amount):
        life.store_rejected(tx, repo, t, "insufficient_funds", now, event.id)
        return
    life.start_pending(tx, repo, t, require_funds=True, causation_id=event.id)


def on_settlement_batch_paid(event: Event, p: dict, tx: Tx) -> None:
    """SettlementBatchPaid: the batch's points move from the merchant to the community's sponsor account."""
    repo = LedgerRepository(tx)
    if p["points"] == 0:
        return
    source = f"batch:{p['batch_id']}"
    tid = source_transfer_id(source)
    if repo.transfer(tid) is not None:
        return
    cid, now = p["community_id"], utcnow()
    merchant, merchant_known = _party(repo, model.merchant_of(cid, p["merchant_id"]))
    sponsor = (life.system_account(tx, repo, cid, "sponsor", "PT") if merchant_known
               else model.system_of(cid, "sponsor", "PT"))
    t = life.new_transfer(transfer_id=tid, community_id=cid, workflow="system", unit="PT", amount=p["points"],
                        debit=merchant, credit=sponsor, payer_id=p["merchant_id"], payee_id=None,
                        initiator_id="settlement", now=now, ttl_days=0, source=source,
                        reference={"kind": "settlement", "id": p["batch_id"]})
    if not merchant_known:
        life.store_rejected(tx, repo, t, "unknown_account", now, event.id)
        return
    if not merchant.can_post(t.amount, 0):
        # Settlement paid cash for points the merchant does not hold: refuse, loudly, rather than break a limit.
        life.store_rejected(tx, repo, t, "insufficient_funds", now, event.id)
        return
    life.post_at_once(tx, repo, t, now, event.id)


def on_points_rules(event: Event, p: dict, tx: Tx) -> None:
    """PointsRulesVersioned: keep the version (a later revision of it replaces it); awards pick by time."""
    lots.store_rule_version(LedgerRepository(tx), p)


def subscriptions(runtime) -> dict[str, Subscription]:
    """Event type → (payload schema, handler)."""
    return {
        "CommunityCreated": Subscription(schemas.CommunityEventSchema, on_community),
        "CommunityUpdated": Subscription(schemas.CommunityEventSchema, on_community),
        "MemberJoined": Subscription(schemas.MemberEventSchema, on_member),
        "MemberUpdated": Subscription(schemas.MemberEventSchema, on_member),
        "MemberDeactivated": Subscription(schemas.MemberDeactivatedSchema, on_member_deactivated),
        "PointsRulesVersioned": Subscription(schemas.PointsRulesVersionedSchema, on_points_rules),
        "MerchantRegistered": Subscription(schemas.MerchantEventSchema, on_merchant),
        "MerchantUpdated": Subscription(schemas.MerchantEventSchema, on_merchant),
        "HelpClaimed": Subscription(schemas.HelpClaimedSchema, on_help_claimed),
        "RedemptionRequested": Subscription(schemas.RedemptionRequestedSchema, on_redemption_requested),
        "SettlementBatchPaid": Subscription(schemas.SettlementBatchPaidSchema, on_settlement_batch_paid),
        "RequestDisputed": Subscription(appeals_schemas.RequestDisputedSchema, appeals.on_request_disputed),
        **exchange_feed.subscriptions(),  # trust lines, rates, clearings
        **report_awards.subscriptions(),  # grid work: 随手拍 reports and standing duties verified
        **federated.subscriptions(),  # transfers with other deployments (services/ledger/federated.py)
    }
