"""Command handlers of the settlement service: each runs inside one unit of work."""
from __future__ import annotations

from datetime import datetime, timedelta

from shared.errors import Conflict, Forbidden, Unprocessable
from shared.idempotency import once
from shared.mongo import utcnow
from shared.uow import Tx
from services.settlement import commands, events
from services.settlement.model import (COMPLETED, OUTCOME_OF, PAID, Batch, CatalogItem, Charge, Merchant,
                                       Redemption, batch_line, charge_view, chargeback, check_balance, check_member,
                                       check_not_self,
                                       fitting_chargebacks, new_id, pay_code_digest, require_staff_of)
from services.settlement.money import points_to_fen
from services.settlement.thresholds import check_threshold
from services.settlement.repository import SettlementRepository, to_doc


def _require_admin(actor, community_id: str) -> None:
    if actor.community_id != community_id or not actor.is_admin:
        raise Forbidden("只有本社区的管理员可以这样做。 Only an admin of this community may do this.", code="admin_required")


def _require_admin_or_staff(actor, merchant: Merchant) -> None:
    if actor.community_id == merchant.community_id and actor.is_admin:
        return
    require_staff_of(actor, merchant)


# -- merchants and catalogue -----------------------------------------------------------------------
def register_merchant(cmd: commands.RegisterMerchant, tx: Tx) -> dict:
    """A community admin registers a shop or the property company; the ledger opens its account."""
    repo = SettlementRepository(tx)
    community_id = cmd.actor.community_id
    _require_admin(cmd.actor, community_id)
    point_value = repo.community(community_id).get("point_value_fen")
    merchant = Merchant.register(new_id("mer"), community_id, cmd.fields, utcnow(), point_value)
    repo.add_merchant(merchant)
    events.merchant_changed(tx, merchant, "MerchantRegistered")
    return to_doc(merchant, "merchant_id")


def update_merchant(cmd: commands.UpdateMerchant, tx: Tx) -> dict:
    """An admin changes a merchant's terms, staff or status."""
    repo = SettlementRepository(tx)
    _require_admin(cmd.actor, cmd.actor.community_id)
    merchant = repo.merchant(cmd.merchant_id, cmd.actor.community_id)
    merchant.update(cmd.changes)
    repo.save_merchant(merchant)
    events.merchant_changed(tx, merchant, "MerchantUpdated")
    return to_doc(merchant, "merchant_id")


def add_catalog_item(cmd: commands.AddCatalogItem, tx: Tx) -> dict:
    """Staff or an admin put an item in the points mall."""
    repo = SettlementRepository(tx)
    merchant = repo.merchant(cmd.merchant_id)
    _require_admin_or_staff(cmd.actor, merchant)
    item = CatalogItem(item_id=new_id("itm"), merchant_id=merchant.merchant_id,
                       community_id=merchant.community_id, **cmd.fields)
    repo.add_item(item)
    events.catalog_item_changed(tx, item)
    return _item_view(item)


def update_catalog_item(cmd: commands.UpdateCatalogItem, tx: Tx) -> dict:
    """Staff or an admin change an item's name, price, stock or availability."""
    repo = SettlementRepository(tx)
    item = repo.item(cmd.item_id)
    _require_admin_or_staff(cmd.actor, repo.merchant(item.merchant_id))
    changes = dict(cmd.changes)
    if "stock" in changes:
        item.set_stock(changes.pop("stock"))
    for key, value in changes.items():
        setattr(item, key, value)
    repo.save_item(item)
    events.catalog_item_changed(tx, item)
    return _item_view(item)


def _item_view(item: CatalogItem) -> dict:
    return {**to_doc(item, "item_id"), "available": item.available}


# -- redemptions --------------------------------------------------------------------------------------
def request_redemption(cmd: commands.RequestRedemption, tx: Tx) -> tuple[dict, int]:
    """Staff charge a member's points at the till; the ledger makes the pending `redeem` transfer."""
    def compute() -> tuple[dict, int]:
        repo = SettlementRepository(tx)
        merchant = repo.merchant(cmd.merchant_id)
        require_staff_of(cmd.actor, merchant)
        merchant.require_active()
        member_id = cmd.member_id or _owner_of_code(repo, cmd.pay_code)
        check_not_self(member_id, cmd.actor.member_id)
        value = merchant.check_till_redemption(cmd.points, cmd.bill_fen)
        redemption = _start_redemption(repo, tx, merchant, member_id, cmd.points, cmd.bill_fen, value,
                                       staff_id=cmd.actor.member_id, item_id=None, pay_code=cmd.pay_code)
        return to_doc(redemption, "redemption_id"), 201
    return once(tx, f"till:{cmd.merchant_id}:{cmd.actor.member_id}", cmd.idempotency_key, cmd.body, compute)


def _owner_of_code(repo: SettlementRepository, pay_code: str | None) -> str:
    """The member a pay code was issued to: the till types the code, never the member's internal id."""
    code = repo.pay_code(pay_code_digest(pay_code)) if pay_code else None
    if code is None or code.member_id is None:
        raise Unprocessable("付款码无效，请让居民重新出示。This pay code is not known; ask the member to show it again.",
                            code="pay_code_unknown")
    return code.member_id


def create_charge(cmd: commands.CreateCharge, tx: Tx) -> tuple[dict, int]:
    """Staff ask for a bill to be paid in points: a 收款码 anyone may scan, or a bill addressed to one member."""
    def compute() -> tuple[dict, int]:
        repo = SettlementRepository(tx)
        merchant = repo.merchant(cmd.merchant_id)
        require_staff_of(cmd.actor, merchant)
        merchant.require_active()
        if cmd.member_id is not None:
            check_member(repo.member(cmd.member_id), merchant.community_id)
            check_not_self(cmd.member_id, cmd.actor.member_id)
        now = utcnow()
        charge = Charge(charge_id=new_id("chg"), community_id=merchant.community_id, merchant_id=merchant.merchant_id,
                        bill_fen=cmd.bill_fen, memo=cmd.memo, staff_id=cmd.actor.member_id,
                        expires_at=now + timedelta(minutes=cmd.ttl_minutes), member_id=cmd.member_id, created_at=now)
        repo.add_charge(charge)
        if charge.member_id is not None:
            events.charge_issued(tx, charge, merchant.name)
        return charge_view(to_doc(charge, "charge_id"), merchant, now), 201
    return once(tx, f"charge:{cmd.merchant_id}:{cmd.actor.member_id}", cmd.idempotency_key, cmd.body, compute)


def pay_charge(cmd: commands.PayCharge, tx: Tx) -> tuple[dict, int]:
    """A member pays a charge with points within the merchant's rules; they approve the ledger's charge next."""
    def compute() -> tuple[dict, int]:
        repo = SettlementRepository(tx)
        charge = repo.charge(cmd.charge_id)
        if charge.community_id != cmd.actor.community_id:
            raise Forbidden("这是别的社区的账单。This bill belongs to another community.", code="other_community")
        merchant = repo.merchant(charge.merchant_id)
        merchant.require_active()
        if cmd.actor.has_role("merchant") and cmd.actor.merchant_id == merchant.merchant_id:
            raise Unprocessable("商家员工不能用积分付自己店的账单。Staff cannot pay their own shop's bill in points.",
                                code="self_redemption")
        value = merchant.check_till_redemption(cmd.points, charge.bill_fen)
        redemption = _start_redemption(repo, tx, merchant, cmd.actor.member_id, cmd.points, charge.bill_fen, value,
                                       staff_id=None, item_id=None, pay_code=None, item_name=charge.memo,
                                       charge=charge)
        return to_doc(redemption, "redemption_id"), 201
    body = {"charge_id": cmd.charge_id, "points": cmd.points}
    return once(tx, f"pay-charge:{cmd.actor.member_id}", cmd.idempotency_key, body, compute)


def order_catalog_item(cmd: commands.OrderCatalogItem, tx: Tx) -> tuple[dict, int]:
    """A member orders an item for its price in points; one unit is held until the redemption resolves."""
    def compute() -> tuple[dict, int]:
        repo = SettlementRepository(tx)
        item = repo.item(cmd.item_id, cmd.actor.community_id)
        merchant = repo.merchant(item.merchant_id)
        merchant.require_active()
        item.reserve()
        repo.save_item(item)
        value = points_to_fen(item.price_points, merchant.settlement_rate_fen_per_point)
        # The item is paid wholly in points: its "bill" is the points' value, so no share rule applies.
        redemption = _start_redemption(repo, tx, merchant, cmd.actor.member_id, item.price_points, value, value,
                                       staff_id=None, item_id=item.item_id, pay_code=cmd.pay_code,
                                       item_name=item.name)
        return to_doc(redemption, "redemption_id"), 201
    body = {"item_id": cmd.item_id, "pay_code": cmd.pay_code}
    return once(tx, f"order:{cmd.actor.member_id}", cmd.idempotency_key, body, compute)


def _start_redemption(repo: SettlementRepository, tx: Tx, merchant: Merchant, member_id: str, points: int,
                      bill_fen: int, value_fen: int, *, staff_id: str | None, item_id: str | None,
                      pay_code: str | None, item_name: str | None = None, charge: Charge | None = None) -> Redemption:
    now = utcnow()
    check_member(repo.member(member_id), merchant.community_id)
    available = repo.available_points(member_id)
    check_balance(available, points)
    check_threshold(tx, merchant.community_id, available, points, now)
    redemption = Redemption(redemption_id=new_id("red"), community_id=merchant.community_id,
                            merchant_id=merchant.merchant_id, member_id=member_id, points=points, bill_fen=bill_fen,
                            rate_fen_per_point=merchant.settlement_rate_fen_per_point, value_fen=value_fen,
                            staff_id=staff_id, item_id=item_id, created_at=now)
    if charge is not None:
        charge.start_payment(member_id, redemption.redemption_id, now)
        redemption.charge_id = charge.charge_id
        repo.save_charge(charge)
    if pay_code:
        digest = pay_code_digest(pay_code)
        code = repo.pay_code(digest)
        if code is None:
            raise Unprocessable("付款码无效，请让居民重新出示。 This pay code is not known; ask the member to show it again.",
                                code="pay_code_unknown")
        code.check(member_id, points, now)
        repo.claim_pay_code(code, redemption.redemption_id)
        redemption.pay_code_sha256 = digest
    repo.add_redemption(redemption)
    events.redemption_requested(tx, redemption, pay_code, merchant.name, item_name)
    # An outcome the ledger reported before this redemption was visible is applied now.
    early = repo.touch_outcome(redemption.redemption_id, requested=True)
    if early.get("pending_transfer_id"):
        redemption.note_transfer(early["pending_transfer_id"])
        repo.save_redemption(redemption)
    if early.get("final_type"):
        apply_outcome(repo, tx, redemption, early["final_type"], early["transfer_id"], early["at"],
                      early.get("reason"))
    return redemption


def apply_outcome(repo: SettlementRepository, tx: Tx, redemption: Redemption, event_type: str,
                  transfer_id: str, at: datetime, reason: str | None) -> bool:
    """Apply a ledger transfer event to its redemption once; duplicates and late arrivals change nothing."""
    if event_type == "TransferPending":
        if redemption.transfer_id is None:
            redemption.note_transfer(transfer_id)
            repo.save_redemption(redemption)
        return False
    if not redemption.resolve(OUTCOME_OF[event_type], transfer_id, at, reason):
        return False
    repo.save_redemption(redemption)
    if redemption.item_id:
        item = repo.item(redemption.item_id)
        if redemption.state == COMPLETED:
            item.consume()
            events.catalog_item_changed(tx, item)
        else:
            item.release()
        repo.save_item(item)
    if redemption.charge_id:
        charge = repo.charge(redemption.charge_id)
        if charge.settle(redemption.redemption_id, completed=redemption.state == COMPLETED):
            repo.save_charge(charge)
    if redemption.pay_code_sha256 and redemption.state != COMPLETED:
        code = repo.pay_code(redemption.pay_code_sha256)
        if code is not None and code.claimed_by == redemption.redemption_id:
            repo.claim_pay_code(code, None)  # the ledger refused it; a still-valid code may be tried again
    events.redemption_resolved(tx, redemption)
    if redemption.state == COMPLETED:
        # A reversal the ledger reported before this completion reached us is applied now.
        reversal = repo.outcome(redemption.redemption_id).get("reversal")
        if reversal:
            apply_reversal(repo, tx, redemption, reversal["transfer_id"], reversal["at"])
    return True


def apply_reversal(repo: SettlementRepository, tx: Tx, redemption: Redemption, reversal_transfer_id: str,
                   at: datetime) -> bool:
    """The ledger reversed a completed redemption (the shop gave the points back, SPEC §6): it is never paid in
    cash. Unbatched, it simply never enters a batch; on an unpaid batch, its line is taken out; on a paid batch,
    its cash is charged back against the merchant's next batch (the oldest unpaid one it fits, else the next
    one made). Once only; a repeated or early reversal changes nothing here."""
    if not redemption.reverse(reversal_transfer_id, at):
        return False
    if redemption.batch_id is not None:
        batch = repo.batch(redemption.batch_id)
        budget = repo.budget(batch.community_id)
        if batch.state != PAID:
            batch.take_out(redemption.points, redemption.fen, budget)
            repo.remove_line(redemption.redemption_id)
            redemption.removed_from_batch, redemption.batch_id = batch.batch_id, None
            repo.save_batch(batch)
        else:
            cb = chargeback(redemption, batch.batch_id)
            target = next((b for b in repo.unpaid_batches(redemption.merchant_id)
                           if b.can_charge_back(redemption.points)), None)
            if target is not None:
                target.charge_back(cb["points"], cb["fen"], budget)
                cb["batch_id"] = target.batch_id
                repo.save_batch(target)
            repo.add_chargeback(cb)
        repo.save_budget(budget)
    repo.save_redemption(redemption)
    events.redemption_resolved(tx, redemption)
    return True


# -- settlement batches -----------------------------------------------------------------------------
def create_batch(cmd: commands.CreateBatch, tx: Tx) -> dict:
    """Put every completed, unbatched redemption of the merchant before cutoff into a new batch."""
    repo = SettlementRepository(tx)
    merchant = repo.merchant(cmd.merchant_id, cmd.community_id)
    existing = repo.open_batch(merchant.merchant_id)
    if existing is not None:
        raise Conflict("该商户有一个未结束的结算批次，请先关闭它。 "
                       "This merchant has an open batch; close it first.", code="open_batch_exists",
                       batch_id=existing.batch_id)
    rows = repo.unbatched_completed(merchant.merchant_id, cmd.cutoff)
    if not rows:
        raise Unprocessable("没有待结算的已完成兑换。 "
                            "No completed redemptions are waiting to be settled.", code="nothing_to_settle")
    batch_id = new_id("bat")
    lines = [batch_line(r, batch_id) for r in rows]
    if repo.assign_to_batch([r["_id"] for r in rows], batch_id) != len(rows):
        raise Conflict("其中一些兑换已被另一个批次结算，请重试。 "
                       "Another batch took some of these redemptions; try again.", code="batch_race")
    repo.add_lines(lines)
    # Paid redemptions reversed since are charged back here, as far as this batch's redemptions cover them.
    charged = fitting_chargebacks(sum(line["points"] for line in lines),
                                  repo.pending_chargebacks(merchant.merchant_id, cmd.cutoff))
    if repo.assign_chargebacks([cb["_id"] for cb in charged], batch_id) != len(charged):
        raise Conflict("其中一些退款已被另一个批次处理，请重试。 "
                       "Another batch took some of these chargebacks; try again.", code="batch_race")
    starts = [line["completed_at"] for line in lines if line["completed_at"]]
    batch = Batch(batch_id=batch_id, community_id=merchant.community_id, merchant_id=merchant.merchant_id,
                  period_start=merchant.last_period_end or (min(starts) if starts else None),
                  period_end=cmd.cutoff, points=sum(line["points"] for line in lines),
                  fen=sum(line["fen"] for line in lines), redemption_count=len(lines), created_at=utcnow())
    for cb in charged:
        batch.charge_back(cb["points"], cb["fen"])
    # Writing the merchant also makes two concurrent batch runs for one merchant conflict (one retries).
    if merchant.last_period_end is None or merchant.last_period_end < cmd.cutoff:
        merchant.last_period_end = cmd.cutoff
    repo.save_merchant(merchant)
    repo.add_batch(batch)
    if cmd.close:
        _close(repo, tx, batch)
    return to_doc(batch, "batch_id")


def _close(repo: SettlementRepository, tx: Tx, batch: Batch) -> None:
    budget = repo.budget(batch.community_id)
    batch.close(budget, utcnow())
    repo.save_budget(budget)
    repo.save_batch(batch)
    events.batch_closed(tx, batch)


def close_batch(cmd: commands.CloseBatch, tx: Tx) -> dict:
    """Close an open batch: the cash is committed from the sponsor budget, or the batch is flagged over budget."""
    repo = SettlementRepository(tx)
    batch = repo.batch(cmd.batch_id, cmd.community_id)
    _close(repo, tx, batch)
    return to_doc(batch, "batch_id")


def acknowledge_over_budget(cmd: commands.AcknowledgeOverBudget, tx: Tx) -> dict:
    """The admin accepts paying a batch beyond the remaining budget."""
    repo = SettlementRepository(tx)
    batch = repo.batch(cmd.batch_id, cmd.community_id)
    batch.acknowledge_over_budget()
    repo.save_batch(batch)
    return to_doc(batch, "batch_id")


def pay_batch(cmd: commands.PayBatch, tx: Tx) -> dict:
    """Record that the cash was paid (with its bank/transfer reference)."""
    repo = SettlementRepository(tx)
    batch = repo.batch(cmd.batch_id, cmd.community_id)
    budget = repo.budget(batch.community_id)
    batch.pay(cmd.payment_reference, budget, utcnow())
    repo.save_budget(budget)
    repo.save_batch(batch)
    events.batch_paid(tx, batch)
    return to_doc(batch, "batch_id")


def top_up_sponsor_budget(cmd: commands.TopUpSponsorBudget, tx: Tx) -> dict:
    """Record cash the sponsor added to the community's settlement budget."""
    repo = SettlementRepository(tx)
    budget = repo.budget(cmd.community_id)
    budget.top_up(cmd.amount_fen)
    repo.save_budget(budget)
    repo.add_top_up({"_id": new_id("top"), "community_id": cmd.community_id, "amount_fen": cmd.amount_fen,
                     "reference": cmd.reference, "recorded_by": cmd.actor_id, "at": utcnow()})
    return {**to_doc(budget, "community_id"), "remaining_fen": budget.remaining_fen}


HANDLERS = {
    commands.RegisterMerchant: register_merchant,
    commands.UpdateMerchant: update_merchant,
    commands.AddCatalogItem: add_catalog_item,
    commands.UpdateCatalogItem: update_catalog_item,
    commands.RequestRedemption: request_redemption,
    commands.OrderCatalogItem: order_catalog_item,
    commands.CreateCharge: create_charge,
    commands.PayCharge: pay_charge,
    commands.CreateBatch: create_batch,
    commands.CloseBatch: close_batch,
    commands.AcknowledgeOverBudget: acknowledge_over_budget,
    commands.PayBatch: pay_batch,
    commands.TopUpSponsorBudget: top_up_sponsor_budget,
}
