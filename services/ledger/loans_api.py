"""HTTP API of points loans (积分借用): admins lend with a repayment plan; the member and the admins see every
repayment (`loans.py` has the rules)."""
from __future__ import annotations

from shared.auth import authenticated, require_roles
from shared.idempotency import key_from_request
from shared.ratelimit import limiter
from shared.schemas import problem_responses
from shared.web import ServiceBlueprint as Blueprint, current_bus, current_db
from services.ledger import loans
from services.ledger.loans_schemas import LendSchema, LoanListArgsSchema, LoanSchema
from services.ledger.api import _actor, _money_limit as _limit  # one caller and one money limit

blp = Blueprint("loans", __name__, url_prefix="/v1",
                description="积分借用 Points loans: lent by admins, repaid from later awards per the plan")


@blp.post("/admin/loans")
@require_roles("admin")
@limiter.limit(_limit)
@blp.arguments(LendSchema())
@blp.response(201, LoanSchema)
@problem_responses(blp, {"404": "no such member", "409": "an earlier loan is unpaid",
                         "422": "over the rules' points_loan_limit"})
def lend(body):
    """Lend a member of my community points with a repayment plan (admins)."""
    return current_bus().handle(loans.LendPoints(_actor(), body["member_id"], body["points"], body["repay_percent"],
                                                 body["memo"], key_from_request(), body))[0]


@blp.get("/admin/loans")
@require_roles("admin")
@blp.arguments(LoanListArgsSchema(), location="query")
@blp.response(200, LoanSchema(many=True))
def community_loans(args):
    """My community's loans (one member's with `?member_id=`), newest first, with every repayment (admins)."""
    return loans.loans_of(current_db(), _actor().community_id, args["member_id"])


@blp.get("/loans/mine")
@authenticated
@blp.response(200, LoanSchema(many=True))
def my_loans():
    """My points loans, newest first: what was lent, the plan, every repayment and what is still owed."""
    actor = _actor()
    return loans.loans_of(current_db(), actor.community_id, actor.member_id)
