"""Awards for grid work, from the community's events (SPEC §5, 网格积分制): a verified 随手拍 report
(`GridReportVerified`) and a standing duty verified for a period (`DutyVerified`).

The verification is the grid worker's confirmation, so the award posts at once (from `s:<c>:issuance:PT`), computed
by `economy.award_for` like every other award — the report type's or duty's points under the rules in effect at the
verification, the major-hazard bonus, newcomer and one-off bonuses, the caps, the explanation and the rule version
recorded on the transfer. Its id derives from the report (or member, duty and period), so a re-emitted event pays
nothing twice. An award the caps bring to 0 is recorded refused (`no_points_under_rules`) with its explanation."""
from __future__ import annotations

from dataclasses import replace

from marshmallow import EXCLUDE, Schema, fields, validate

from shared.consumer import Subscription
from shared.economy import Activity
from shared.envelope import Event
from shared.mongo import utcnow
from shared.uow import Tx
from services.ledger import economy, lots, model
from services.ledger import lifecycle as life
from services.ledger.ids import source_transfer_id
from services.ledger.repository import LedgerRepository

Id = fields.String(required=True, validate=validate.Length(min=1, max=64))
Name = fields.String(required=True, validate=validate.Length(min=1, max=40))


class _Verified(Schema):
    class Meta:
        unknown = EXCLUDE

    community_id = Id
    member_id = Id
    verified_at = fields.String(required=True, validate=validate.Length(min=10, max=40))
    verified_by = Id


class GridReportVerifiedSchema(_Verified):
    report_id = Id
    report_type = Name
    major_hazard = fields.Boolean(load_default=False)


class DutyVerifiedSchema(_Verified):
    verification_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    duty = Name
    period = fields.String(required=True, validate=validate.Length(min=7, max=8))


def _pay(event: Event, tx: Tx, p: dict, *, source: str, activity: Activity, reference: dict, memo: str,
         details: dict) -> None:
    """Post the award of a verified piece of grid work to the member, once per `source`."""
    repo = LedgerRepository(tx)
    tid = source_transfer_id(source)
    if repo.transfer(tid) is not None:
        return
    cid, now = p["community_id"], utcnow()
    member = repo.account(model.member_account_id(cid, p["member_id"], "PT"))
    common = dict(transfer_id=tid, community_id=cid, workflow="award", unit="PT", payer_id=None,
                  payee_id=p["member_id"], initiator_id=p["verified_by"], now=now, ttl_days=0, source=source,
                  reference=reference, memo=memo)
    if member is None:  # a member the ledger never heard of: recorded refused, nothing opened
        stand_in = model.member_of(cid, p["member_id"], "PT")
        t = life.new_transfer(amount=1, debit=model.system_of(cid, "issuance", "PT"), credit=stand_in,
                              details=details, **common)
        life.store_rejected(tx, repo, t, "unknown_account", now, event.id)
        return
    amount, award = economy.award_for(repo, cid, p["member_id"], lots.aware(p["verified_at"]), activity)
    issuance = life.system_account(tx, repo, cid, "issuance", "PT")
    t = life.new_transfer(amount=max(amount, 1), debit=issuance, credit=member, details={**details, "award": award},
                          **common)
    if amount <= 0:
        life.store_rejected(tx, repo, replace(t, amount=0), "no_points_under_rules", now, event.id)
    else:
        life.post_at_once(tx, repo, replace(t, resolved_by=p["verified_by"]), now, event.id)


def on_report_verified(event: Event, p: dict, tx: Tx) -> None:
    """GridReportVerified: the reporter earns what the report type is worth (and the major-hazard bonus)."""
    _pay(event, tx, p, source=f"report:{p['report_id']}",
         activity=Activity(p["report_type"], bonuses=("major_hazard",) if p["major_hazard"] else (), kind="report"),
         reference={"kind": "grid_report", "id": p["report_id"]}, memo=f"随手拍 · {p['report_type']}",
         details={"report_id": p["report_id"], "activity_type": p["report_type"],
                  "major_hazard": p["major_hazard"]})


def on_duty_verified(event: Event, p: dict, tx: Tx) -> None:
    """DutyVerified: the member earns the duty's points for the period (once per member, duty and period)."""
    _pay(event, tx, p, source=f"duty:{p['verification_id']}",
         activity=Activity(p["duty"], kind="duty"),
         reference={"kind": "duty", "id": p["verification_id"]}, memo=f"值守 · {p['duty']} · {p['period']}",
         details={"duty": p["duty"], "period": p["period"], "activity_type": p["duty"]})


def subscriptions() -> dict[str, Subscription]:
    return {"GridReportVerified": Subscription(GridReportVerifiedSchema, on_report_verified),
            "DutyVerified": Subscription(DutyVerifiedSchema, on_duty_verified)}
