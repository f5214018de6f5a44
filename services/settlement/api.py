"""HTTP API of the settlement service (/v1)."""
from __future__ import annotations

from flask import Response, current_app
from shared.web import ServiceBlueprint as Blueprint

from shared.auth import admin_community, current_principal, require_community
from shared.errors import Forbidden
from shared.idempotency import key_from_request
from shared.mongo import utcnow
from shared.ratelimit import limiter
from shared.web import current_bus, current_db
from services.settlement import commands, schemas, statements, views
from services.settlement.model import Charge, Merchant, can_view_merchant_data, charge_view
from services.settlement.repository import from_doc

blp = Blueprint("settlement", __name__, url_prefix="/v1",
                description="商家 merchants, 积分商城 catalogue, till redemptions, settlement batches")




def _money_limit() -> str:
    # Per token; a busy till makes a few redemptions a minute, so this only stops runaway clients.
    return current_app.config["SERVICE_CONFIG"].setting("MONEY_RATE_LIMIT", "120/minute")


def _mine() -> dict:
    """The query for the caller's own documents (theirs, in their community)."""
    principal = current_principal()
    return {"member_id": principal.member_id, "community_id": principal.community_id}


def _merchant_in_my_community(merchant_id: str) -> dict:
    doc = views.merchant(current_db(), merchant_id)
    require_community(doc["community_id"])
    return doc


def _merchant_for_insiders(merchant_id: str) -> dict:
    """The merchant, for its own staff and its community's admins only."""
    doc = views.merchant(current_db(), merchant_id)
    if not can_view_merchant_data(current_principal(), from_doc(Merchant, doc)):
        raise Forbidden("只有该商户的店员和社区管理员可以查看。 Only this merchant's staff and the community's admins may see this.",
                        code="other_merchant")
    return doc



# -- merchants -------------------------------------------------------------------------------------
@blp.post("/merchants")
@blp.arguments(schemas.MerchantCreateSchema())
@blp.response(201, schemas.MerchantDetailSchema)
def register_merchant(body):
    """Register a shop partner or the property company (community admins)."""
    return current_bus().handle(commands.RegisterMerchant(current_principal(), body))


@blp.get("/merchants")
@blp.response(200, schemas.MerchantSchema(many=True))
def list_merchants():
    """The merchants of my community."""
    return views.merchants(current_db(), current_principal().community_id)


@blp.get("/merchants/<merchant_id>")
@blp.alt_response(200, schema=schemas.MerchantDetailSchema, success=True,
                  description="The merchant (`staff` only for its staff and the community's admins)")
def get_merchant(merchant_id):
    """One merchant; staff and admins also see the staff list."""
    doc = _merchant_in_my_community(merchant_id)
    insider = can_view_merchant_data(current_principal(), from_doc(Merchant, doc))
    return (schemas.MerchantDetailSchema if insider else schemas.MerchantSchema)().dump(doc)


@blp.patch("/merchants/<merchant_id>")
@blp.arguments(schemas.MerchantUpdateSchema())
@blp.response(200, schemas.MerchantDetailSchema)
def update_merchant(body, merchant_id):
    """Change a merchant's terms, staff or status (community admins)."""
    return current_bus().handle(commands.UpdateMerchant(current_principal(), merchant_id, body))


# -- catalogue -------------------------------------------------------------------------------------
@blp.post("/merchants/<merchant_id>/items")
@blp.arguments(schemas.ItemCreateSchema())
@blp.response(201, schemas.ItemSchema)
def add_item(body, merchant_id):
    """Add an item to the points mall (the merchant's staff or admins)."""
    return current_bus().handle(commands.AddCatalogItem(current_principal(), merchant_id, body))


@blp.get("/merchants/<merchant_id>/items")
@blp.response(200, schemas.ItemSchema(many=True))
def list_items(merchant_id):
    """The merchant's catalogue (inactive items only for its staff and admins)."""
    doc = _merchant_in_my_community(merchant_id)
    insider = can_view_merchant_data(current_principal(), from_doc(Merchant, doc))
    return views.items(current_db(), merchant_id, include_inactive=insider)


@blp.get("/items/<item_id>")
@blp.response(200, schemas.ItemSchema)
def get_item(item_id):
    """One catalogue item."""
    doc = views.item(current_db(), item_id)
    require_community(doc["community_id"])
    return doc


@blp.patch("/items/<item_id>")
@blp.arguments(schemas.ItemUpdateSchema())
@blp.response(200, schemas.ItemSchema)
def update_item(body, item_id):
    """Change an item's name, price, stock or availability (the merchant's staff or admins)."""
    return current_bus().handle(commands.UpdateCatalogItem(current_principal(), item_id, body))


@blp.post("/items/<item_id>/orders")
@limiter.limit(_money_limit)
@blp.arguments(schemas.OrderSchema())
@blp.response(201, schemas.RedemptionSchema)
def order_item(body, item_id):
    """Order an item for its price in points; approve the charge in the ledger (or show a pay code)."""
    return current_bus().handle(commands.OrderCatalogItem(current_principal(), item_id, body["pay_code"],
                                                   key_from_request()))


# -- redemptions -----------------------------------------------------------------------------------
@blp.post("/merchants/<merchant_id>/redemptions")
@limiter.limit(_money_limit)
@blp.arguments(schemas.RedemptionCreateSchema())
@blp.response(201, schemas.RedemptionSchema)
def create_redemption(body, merchant_id):
    """At the till: charge a member's points against a bill (the merchant's own staff)."""
    return current_bus().handle(commands.RequestRedemption(
        current_principal(), merchant_id, body["member_id"], body["points"], body["bill_fen"], body["pay_code"],
        key_from_request(), body))


@blp.get("/merchants/<merchant_id>/redemptions")
@blp.arguments(schemas.RedemptionListArgsSchema(), location="query")
@blp.response(200, schemas.RedemptionPageSchema)
def list_merchant_redemptions(args, merchant_id):
    """The merchant's redemptions, newest first (its staff and admins)."""
    _merchant_for_insiders(merchant_id)
    return views.redemptions(current_db(), {"merchant_id": merchant_id}, args)


@blp.get("/members/me/redemptions")
@blp.arguments(schemas.RedemptionListArgsSchema(), location="query")
@blp.response(200, schemas.RedemptionPageSchema)
def my_redemptions(args):
    """My own redemptions, newest first."""
    return views.redemptions(current_db(), _mine(), args)


@blp.get("/redemptions/<redemption_id>")
@blp.response(200, schemas.RedemptionSchema)
def get_redemption(redemption_id):
    """One redemption: the member's own, or their shop's for staff, or their community's for admins."""
    doc = views.redemption(current_db(), redemption_id)
    principal = current_principal()
    if principal.member_id == doc["member_id"] and principal.community_id == doc["community_id"]:
        return doc
    _merchant_for_insiders(doc["merchant_id"])
    return doc


# -- charges: a till's 收款码 and property-fee bills (物业费抵扣) -------------------------------------------
@blp.post("/merchants/<merchant_id>/charges")
@limiter.limit(_money_limit)
@blp.arguments(schemas.ChargeCreateSchema())
@blp.response(201, schemas.ChargeSchema)
def create_charge(body, merchant_id):
    """Ask for a bill to be paid partly in points (the merchant's own staff): shown as a 收款码 anyone of the
    community may scan, or addressed to one member (a property-fee bill they deduct points from)."""
    return current_bus().handle(commands.CreateCharge(
        current_principal(), merchant_id, body["bill_fen"], body["memo"], body["member_id"], body["ttl_minutes"],
        key_from_request(), body))


@blp.get("/members/me/charges")
@blp.arguments(schemas.PageArgsSchema(), location="query")
@blp.response(200, schemas.ChargePageSchema)
def my_charges(args):
    """Bills addressed to me (e.g. property fees), newest first, with each merchant's rules for them."""
    return views.charges(current_db(), _mine(), args)


@blp.get("/charges/<charge_id>")
@blp.response(200, schemas.ChargeSchema)
def get_charge(charge_id):
    """One charge, for the member about to pay it (anyone of the community for a 收款码; the addressee for a bill)
    and the merchant's staff and admins: who asks, what for, how much, and the most points it may take."""
    doc = views.charge(current_db(), charge_id)
    merchant = from_doc(Merchant, _merchant_in_my_community(doc["merchant_id"]))
    from_doc(Charge, doc).check_visible_to(current_principal().member_id,
                                           can_view_merchant_data(current_principal(), merchant))
    return charge_view(doc, merchant, utcnow())


@blp.post("/charges/<charge_id>/pay")
@limiter.limit(_money_limit)
@blp.arguments(schemas.ChargePaySchema())
@blp.response(201, schemas.RedemptionSchema)
def pay_charge(body, charge_id):
    """Pay a charge with some of my points (within the merchant's minimum and max share); I approve the
    ledger's charge next, and the charge is paid once it posts."""
    return current_bus().handle(commands.PayCharge(current_principal(), charge_id, body["points"],
                                                   key_from_request()))


# -- batches, budget, statements ----------------------------------------------------------------------
@blp.post("/merchants/<merchant_id>/batches")
@blp.arguments(schemas.BatchCreateSchema())
@blp.response(201, schemas.BatchSchema)
def create_batch(body, merchant_id):
    """Settle now: a batch of every completed redemption not yet settled (admins); optionally closed at once."""
    community_id = admin_community()
    return current_bus().handle(commands.CreateBatch(merchant_id, community_id, utcnow(), close=body["close"]))


@blp.get("/merchants/<merchant_id>/batches")
@blp.arguments(schemas.PageArgsSchema(), location="query")
@blp.response(200, schemas.BatchPageSchema)
def list_batches(args, merchant_id):
    """The merchant's batches, newest first (its staff and admins)."""
    _merchant_for_insiders(merchant_id)
    return views.batches(current_db(), merchant_id, args)


def _batch_for_insiders(batch_id: str) -> tuple[dict, dict]:
    batch = views.batch(current_db(), batch_id)
    return batch, _merchant_for_insiders(batch["merchant_id"])


@blp.get("/batches/<batch_id>")
@blp.response(200, schemas.BatchSchema)
def get_batch(batch_id):
    """One batch (the merchant's staff and admins)."""
    return _batch_for_insiders(batch_id)[0]


@blp.post("/batches/<batch_id>/close")
@blp.response(200, schemas.BatchSchema)
def close_batch(batch_id):
    """Close an open batch: commit its cash from the sponsor budget or flag it over budget (admins)."""
    return current_bus().handle(commands.CloseBatch(batch_id, admin_community()))


@blp.post("/batches/<batch_id>/acknowledge-over-budget")
@blp.response(200, schemas.BatchSchema)
def acknowledge_batch(batch_id):
    """Accept paying a batch beyond the remaining sponsor budget (admins)."""
    community_id = admin_community()
    return current_bus().handle(commands.AcknowledgeOverBudget(batch_id, community_id, current_principal().member_id))


@blp.post("/batches/<batch_id>/pay")
@limiter.limit(_money_limit)
@blp.arguments(schemas.PaySchema())
@blp.response(200, schemas.BatchSchema)
def pay_batch(body, batch_id):
    """Record the cash payment of a closed batch with its reference (admins)."""
    return current_bus().handle(commands.PayBatch(batch_id, admin_community(), body["payment_reference"]))


@blp.get("/batches/<batch_id>/statement")
@blp.arguments(schemas.StatementArgsSchema(), location="query")
@blp.response(200, schemas.StatementSchema, content_type="application/json")
@blp.alt_response(200, description="format=csv: text/csv; format=html: printable page", success=True,
                  content_type="text/csv")
def statement(args, batch_id):
    """The batch's statement as JSON, CSV (?format=csv) or a printable page (?format=html)."""
    batch, merchant = _batch_for_insiders(batch_id)
    lines, chargebacks = views.lines(current_db(), batch_id), views.chargebacks(current_db(), batch_id)
    if args["format"] == "json":
        return {"batch": batch, "merchant": merchant, "lines": lines, "chargebacks": chargebacks}
    names = views.item_names(current_db(), [line.get("item_id") for line in lines])
    tz = views.timezone_of(current_db(), batch["community_id"])
    if args["format"] == "csv":
        return Response(statements.to_csv(batch, merchant, lines, names, tz, chargebacks), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="statement-{batch_id}.csv"'})
    return Response(statements.to_html(batch, merchant, lines, names, tz, chargebacks), mimetype="text/html")


@blp.get("/sponsor-budget")
@blp.response(200, schemas.BudgetSchema)
def get_budget():
    """My community's sponsor budget for settlements (admins)."""
    return views.budget(current_db(), admin_community())


@blp.post("/sponsor-budget/top-ups")
@blp.arguments(schemas.TopUpSchema())
@blp.response(201, schemas.BudgetSchema)
def top_up(body):
    """Record cash the sponsor added to the settlement budget (admins)."""
    community_id = admin_community()
    current_bus().handle(commands.TopUpSponsorBudget(community_id, body["amount_fen"], body["reference"],
                                              current_principal().member_id))
    return views.budget(current_db(), community_id)


# -- reconciliation and reports ---------------------------------------------------------------------------
@blp.get("/merchants/<merchant_id>/reconciliation")
@blp.arguments(schemas.PeriodArgsSchema(), location="query")
@blp.alt_response(200, schema=schemas.ReconciliationSchema, success=True, description="The reconciliation")
def reconciliation(args, merchant_id):
    """Posted redeem transfers in the ledger against settled batch lines for a period, with differences."""
    merchant = _merchant_for_insiders(merchant_id)
    return views.reconciliation(current_db(), merchant, args["since"], args["until"])


@blp.get("/merchants/<merchant_id>/report")
@blp.arguments(schemas.PeriodArgsSchema(), location="query")
@blp.alt_response(200, schema=schemas.MerchantReportSchema, success=True, description="The merchant's report")
def merchant_report(args, merchant_id):
    """Completed redemptions per day, points and fen, top items (the merchant's staff and admins)."""
    merchant = _merchant_for_insiders(merchant_id)
    return views.merchant_report(current_db(), merchant, args["since"], args["until"])


@blp.get("/reports/community")
@blp.arguments(schemas.PeriodArgsSchema(), location="query")
@blp.alt_response(200, schema=schemas.CommunityReportSchema, success=True, description="The community's report")
def community_report(args):
    """My community's redemptions per day and per merchant, points and fen, top items (admins)."""
    return views.community_report(current_db(), admin_community(), args["since"], args["until"])
