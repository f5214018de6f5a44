"""HTTP API of the exchange service (/v1): trust lines, quotes, net positions and clearing."""
from __future__ import annotations

from flask import Response

from shared.auth import admin_community, current_principal
from shared.crossrate import convert
from shared.mongo import utcnow
from shared.schemas import problem_responses
from shared.web import ServiceBlueprint as Blueprint, current_bus, current_db
from services.exchange import commands, export, schemas, views
from services.exchange.repository import line_from_doc

blp = Blueprint("exchange", __name__, url_prefix="/v1",
                description="通存通兑 trust lines, rates, net positions and clearing between partner communities")
ERRORS = {401: "no or invalid bearer token", 403: "not an admin of a community of the trust line",
          404: "no such trust line or clearing", 409: "nothing to clear", 422: "invalid arguments"}



def _problems(*statuses: int):
    return problem_responses(blp, {status: ERRORS[status] for status in statuses})



@blp.get("/trust-lines")
@blp.arguments(schemas.TrustLineListArgsSchema(), location="query")
@blp.response(200, schemas.TrustLineSchema(many=True))
@_problems(401, 422)
def list_trust_lines(args):
    """My community's trust lines: partner, unit, status and rate; admins also see the net limit, the net
    position, the headroom and the next clearing (residents need the lines to pay or bill a partner member)."""
    principal = current_principal()
    lines = views.trust_lines(current_db(), principal.community_id, args.get("status"))
    if principal.is_admin:
        return lines
    return [{k: v for k, v in line.items() if k not in schemas.ADMIN_ONLY_LINE_FIELDS} for line in lines]


@blp.get("/trust-lines/<trust_line_id>")
@blp.response(200, schemas.TrustLineSchema)
@_problems(401, 403, 404)
def get_trust_line(trust_line_id):
    """One trust line of my community."""
    return views.trust_line(current_db(), admin_community(), trust_line_id)


@blp.get("/trust-lines/<trust_line_id>/quote")
@blp.arguments(schemas.QuoteArgsSchema(), location="query")
@blp.response(200, schemas.QuoteSchema)
@_problems(401, 404, 422)
def quote(args, trust_line_id):
    """What a cross payment would take and give at today's rate (any member of the two communities; the
    headroom, which tells the net position, only to admins).

    `stated_by=payer`: the amount is what the payer pays (the payee's side is rounded down);
    `stated_by=payee`: the amount is what the payee receives (the payer's side is rounded up)."""
    principal = current_principal()
    line = line_from_doc(views.trust_line_doc(current_db(), principal.community_id, trust_line_id))
    payer = args["payer_community"]
    payee = line.community_b if line.side(payer) == "a" else line.community_a
    c = convert(line.unit, args["amount"], args["stated_by"], line.point_value(payer), line.point_value(payee))
    net_after = line.position.net + (c.measure if payer == line.community_a else -c.measure)
    answer = {"unit": line.unit, "payer_community": payer, "payee_community": payee,
              "debit_amount": c.debit_amount, "credit_amount": c.credit_amount,
              "payer_point_value_fen": c.payer_point_value_fen, "payee_point_value_fen": c.payee_point_value_fen,
              "measure": c.measure, "headroom": line.headroom(),
              "within_limit": line.status == "open" and abs(net_after) <= line.net_limit}
    # The headroom tells the line's net position: admins only, as in the list of lines.
    return answer if principal.is_admin else {k: v for k, v in answer.items()
                                              if k not in schemas.ADMIN_ONLY_LINE_FIELDS}


@blp.post("/trust-lines/<trust_line_id>/clearings")
@blp.response(201, schemas.ClearingSchema)
@_problems(401, 403, 404, 409)
def clear(trust_line_id):
    """Clear now: net the position into a clearing record both admins see, and reset it (admins of either side)."""
    community_id = admin_community()
    views.trust_line_doc(current_db(), community_id, trust_line_id)  # 404 for lines of other communities
    return current_bus().handle(commands.ClearTrustLine(trust_line_id, utcnow(), community_id))


@blp.get("/clearings")
@blp.arguments(schemas.ClearingListArgsSchema(), location="query")
@blp.response(200, schemas.ClearingSchema(many=True))
@_problems(401, 403, 422)
def list_clearings(args):
    """My community's clearing records, newest first (optionally of one trust line)."""
    return views.clearings(current_db(), admin_community(), args.get("trust_line_id"), args["limit"])


@blp.get("/clearings/<clearing_id>")
@blp.response(200, schemas.ClearingSchema)
@_problems(401, 403, 404)
def get_clearing(clearing_id):
    """One clearing record (admins of either community)."""
    return views.clearing(current_db(), admin_community(), clearing_id)


@blp.get("/clearings/<clearing_id>/export.csv")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="text/csv",
              description="the record, every transfer it netted and the totals (UTF-8 with BOM)")
@_problems(401, 403, 404)
def export_clearing(clearing_id):
    """The clearing as CSV for spreadsheets (UTF-8 with BOM, zh-CN first with English)."""
    db = current_db()
    record = views.clearing(db, admin_community(), clearing_id)
    body = export.clearing_csv(record, views.clearing_entries(db, clearing_id),
                               views.names(db, record["community_a"], record["community_b"]))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="clearing-{clearing_id}.csv"'})
