"""HTTP API of the ledger (/v1). Money-moving POSTs take an Idempotency-Key and are rate limited."""
from __future__ import annotations

from flask import current_app
from shared.web import ServiceBlueprint as Blueprint

from shared.auth import authenticated, current_principal, require_roles
from shared.idempotency import key_from_request
from shared.ratelimit import limiter
from shared.web import current_bus, current_db
from services.ledger import commands, economy_views, schemas, views
from services.ledger.audit import run_audit
from services.ledger.model import UNITS, Actor, member_account_id

blp = Blueprint("ledger", __name__, url_prefix="/v1", description="Accounts, transfers, journal and audit")
DEFAULT_MONEY_LIMIT = "120/minute"


def _money_limit() -> str:
    # Per caller (bearer token); operators raise it with LEDGER_MONEY_RATE_LIMIT (e.g. for benchmarks).
    return current_app.config["SERVICE_CONFIG"].setting("MONEY_RATE_LIMIT", DEFAULT_MONEY_LIMIT)




def _actor() -> Actor:
    p = current_principal()
    return Actor(p.member_id, p.community_id, tuple(p.roles), p.merchant_id)


@blp.get("/balances")
@authenticated
@blp.response(200, schemas.AccountSchema(many=True))
def my_balances():
    """My balances per unit: posted, pending in/out, credit limit and available."""
    return views.balances(current_db(), _actor())


@blp.get("/entries")
@authenticated
@blp.arguments(schemas.EntriesArgsSchema(), location="query")
@blp.response(200, schemas.EntriesPageSchema)
def my_entries(args):
    """My journal entries, newest first; filter by unit and date; page on with next_cursor."""
    actor = _actor()
    units = [args["unit"]] if args.get("unit") else list(UNITS)
    accounts = [member_account_id(actor.community_id, actor.member_id, u) for u in units]
    return views.entries_page(current_db(), accounts, limit=args["limit"], cursor=args.get("cursor"),
                              since=args.get("since"), until=args.get("until"))


@blp.post("/transfers")
@authenticated
@limiter.limit(_money_limit)
@blp.arguments(schemas.TransferCreateSchema())
@blp.response(201, schemas.TransferSchema)
def create_transfer(body):
    """Create a pending transfer: `bill` (the counterparty pays me), `credit` (I pay the counterparty), or
    `award` (the community pays me by its points rules; an organizer, grid worker or admin confirms). With
    `counterparty_community` (a partner community) it is a cross-community transfer, converted through the open
    trust line (422 `no_trust_line`, `trust_line_closed`; at confirm also `trust_line_limit`)."""
    actor, key = _actor(), key_from_request()
    cmd = commands.CreateTransfer(actor=actor, workflow=body["workflow"], unit=body["unit"],
                                  counterparty_id=body.get("counterparty_id"), amount=body.get("amount"),
                                  counterparty_community=body.get("counterparty_community"),
                                  memo=body.get("memo"), minutes=body.get("minutes"),
                                  activity_type=body.get("activity_type"), service_class=body["service_class"],
                                  idempotency_key=key, body=body)
    return current_bus().handle(cmd)[0]


@blp.get("/transfers/awaiting")
@authenticated
@blp.arguments(schemas.LimitArgsSchema(), location="query")
@blp.response(200, schemas.TransferSchema(many=True))
def awaiting_me(args):
    """Pending transfers waiting for my confirmation, newest first."""
    return views.awaiting(current_db(), _actor(), args["limit"])


@blp.get("/transfers/<transfer_id>")
@authenticated
@blp.response(200, schemas.TransferSchema)
def get_transfer(transfer_id):
    """One transfer (its parties, the merchant's staff, award verifiers and community admins)."""
    return views.transfer_for(current_db(), _actor(), transfer_id)


@blp.post("/transfers/<transfer_id>/confirm")
@authenticated
@limiter.limit(_money_limit)
@blp.response(200, schemas.TransferSchema)
def confirm(transfer_id):
    """Confirm as the counterparty: the transfer posts (a repeat answers the same and posts nothing)."""
    return current_bus().handle(commands.ConfirmTransfer(_actor(), transfer_id, key_from_request()))[0]


@blp.post("/transfers/<transfer_id>/reject")
@authenticated
@limiter.limit(_money_limit)
@blp.arguments(schemas.ResolveSchema())
@blp.response(200, schemas.TransferSchema)
def reject(body, transfer_id):
    """Reject as the counterparty: the reserved funds are released."""
    return current_bus().handle(commands.RejectTransfer(_actor(), transfer_id, body["reason"], key_from_request()))[0]


@blp.post("/transfers/<transfer_id>/cancel")
@authenticated
@limiter.limit(_money_limit)
@blp.arguments(schemas.ResolveSchema())
@blp.response(200, schemas.TransferSchema)
def cancel(body, transfer_id):
    """Cancel my own pending transfer."""
    return current_bus().handle(commands.CancelTransfer(_actor(), transfer_id, body["reason"], key_from_request()))[0]


@blp.post("/pay-codes")
@authenticated
@limiter.limit(_money_limit)
@blp.arguments(schemas.PayCodeCreateSchema())
@blp.response(201, schemas.PayCodeSchema)
def issue_pay_code(body):
    """A one-time code (valid a few minutes) that lets a shop charge me up to max_points at once."""
    return current_bus().handle(commands.IssuePayCode(_actor(), body["max_points"], body["ttl_seconds"]))[0]


@blp.get("/admin/accounts/<account_id>/statement")
@require_roles("admin")
@blp.arguments(schemas.StatementArgsSchema(), location="query")
@blp.response(200, schemas.StatementSchema)
def statement(args, account_id):
    """An account's balances and entries, newest first (admins of its community)."""
    return views.statement(current_db(), _actor(), account_id, limit=args["limit"], cursor=args.get("cursor"),
                           since=args.get("since"), until=args.get("until"))


@blp.get("/preferences")
@authenticated
@blp.response(200, schemas.GiftPreferenceSchema)
def my_preferences():
    """Whether gifts to me post at once (auto-accept) or wait for my confirmation."""
    actor = _actor()
    doc = current_db().accounts.find_one({"_id": member_account_id(actor.community_id, actor.member_id, "HOUR")},
                                         {"auto_accept_credits": 1})
    return {"auto_accept_credits": bool(doc and doc.get("auto_accept_credits"))}


@blp.put("/preferences")
@authenticated
@blp.arguments(schemas.GiftPreferenceSchema())
@blp.response(200, schemas.GiftPreferenceSchema)
def set_my_preferences(body):
    """Opt in (or out) of accepting gifts automatically."""
    return current_bus().handle(commands.SetGiftPreference(_actor(), body["auto_accept_credits"]))


@blp.post("/admin/accounts/<account_id>/credit-limit")
@require_roles("admin")
@limiter.limit(_money_limit)
@blp.arguments(schemas.CreditLimitSchema())
@blp.response(200, schemas.AccountSchema)
def grant_credit_limit(body, account_id):
    """Set an account's credit limit: a points loan or hours overdraft (admins of its community)."""
    return current_bus().handle(commands.GrantCreditLimit(_actor(), account_id, body["credit_limit"],
                                                   key_from_request(), body))[0]


@blp.post("/admin/transfers/<transfer_id>/reverse")
@require_roles("admin")
@limiter.limit(_money_limit)
@blp.arguments(schemas.ResolveSchema())
@blp.response(201, schemas.TransferSchema)
def reverse(body, transfer_id):
    """Compensate a posted transfer with an opposite posted one that references it (admins)."""
    return current_bus().handle(commands.ReverseTransfer(_actor(), transfer_id, body["reason"], key_from_request()))[0]


@blp.get("/admin/audit")
@require_roles("admin")
@blp.arguments(schemas.AuditArgsSchema(), location="query")
@blp.response(200, schemas.AuditSchema)
def audit(args):
    """Verify every hash chain of my community, recompute every balance, check the invariants."""
    runtime = current_app.extensions["runtime"]
    return run_audit(runtime.client, runtime.db, _actor().community_id, max_problems=args["max_problems"])


# -- the points economy -------------------------------------------------------------------------------
@blp.get("/points")
@authenticated
@blp.response(200, schemas.MemberPointsSchema)
def my_points():
    """My points: balance, lots and when they expire, points owed, honour points and level, my penalties."""
    actor = _actor()
    return economy_views.member_points(current_db(), actor.community_id, actor.member_id)


@blp.get("/admin/members/<member_id>/points")
@require_roles("admin", "grid_worker")
@blp.response(200, schemas.MemberPointsSchema)
def member_points(member_id):
    """A member's points as `GET /points` shows them (grid workers and admins of the community)."""
    return economy_views.member_points(current_db(), _actor().community_id, member_id)


@blp.post("/admin/penalties")
@require_roles("admin", "grid_worker")
@limiter.limit(_money_limit)
@blp.arguments(schemas.PenaltyCreateSchema())
@blp.response(201, schemas.PenaltySchema)
def issue_penalty(body):
    """Penalise a member of my community for one of the rules' reasons (the rules set the points); what the
    balance cannot cover is owed and repaid from later points."""
    return current_bus().handle(commands.IssuePenalty(_actor(), body["member_id"], body["reason"], body["memo"],
                                                      key_from_request(), body))[0]


@blp.post("/admin/penalties/<penalty_id>/repair")
@require_roles("admin", "grid_worker")
@limiter.limit(_money_limit)
@blp.arguments(schemas.RepairSchema())
@blp.response(200, schemas.PenaltySchema)
def repair_penalty(body, penalty_id):
    """积分修复: restore points of a penalty after the member's community service, as the rules allow."""
    return current_bus().handle(commands.RepairPenalty(_actor(), penalty_id, body["points"], body["memo"],
                                                       key_from_request(), body))[0]
