"""Federation HTTP: the operator grafts this deployment onto a trunkward node (/v1/federation/nodes), and the
Credit Commons 0.9 endpoints other nodes call (/cc/<unit>/…), authenticated by `cc-node` and `last-hash`.

The /cc routes answer as the protocol's peers expect: `application/json` with `{"errors": ["<message>"]}` on
failure (Komunitin's format); the same body also carries the problem fields (type, title, status, detail)."""
from __future__ import annotations


from flask import current_app, jsonify, request

from shared.auth import current_principal, require_operator_key
from shared.errors import Conflict, NotFound, Unprocessable
from shared.mongo import utcnow
from shared.schemas import problem_responses
from shared.web import ServiceBlueprint as Blueprint, current_bus, current_db
from services.exchange import ccflow, commands, schemas, views
from services.exchange.cctransfer import from_doc
from services.exchange.federation import UNITS, CcUnauthorized, authenticate, response_trace
from services.exchange.repository import NODES, CcRepository, node_from_doc

blp = Blueprint("federation", __name__, url_prefix="/v1/federation",
                description="联网 Grafting this deployment onto a trunkward Credit Commons node (operators)")
cc = Blueprint("creditcommons", __name__, url_prefix="/cc",
               description="Credit Commons 0.9 endpoints for the trunkward node (cc-node / last-hash)")
WELCOME = "Welcome to the Credit Commons federation protocol."




_problem_doc = problem_responses(blp, {403: "no or wrong operator key", 409: "this unit is already grafted",
                                      422: "invalid graft"})


@blp.post("/nodes")
@blp.arguments(schemas.GraftSchema())
@blp.response(201, schemas.NodeSchema)
@_problem_doc
def graft(body):
    """Graft one unit of this deployment onto a trunkward node (deployment operators: X-Operator-Key)."""
    require_operator_key("联网挂接", "Grafting")
    return current_bus().handle(commands.GraftNode(at=utcnow(), **body))


@blp.get("/nodes")
@blp.response(200, schemas.NodeSchema(many=True))
@_problem_doc
def list_nodes():
    """This deployment's grafts, with their current last-hash (deployment operators)."""
    require_operator_key("联网挂接", "Grafting")
    return list(current_db()[NODES].find().sort("_id", 1))


# -- the Credit Commons side -------------------------------------------------------------------------
class _CcError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@cc.errorhandler(CcUnauthorized)
@cc.errorhandler(_CcError)
def _cc_error(error):
    titles = {400: "Bad request", 401: "Unauthorized", 404: "Not found", 409: "Conflict", 503: "Busy"}
    response = jsonify({"errors": [error.message], "type": f"https://timebank.example/problems/{error.status}",
                        "title": titles.get(error.status, "Error"), "status": error.status, "detail": error.message})
    response.status_code = error.status
    return response


def _check_unit(unit: str) -> None:
    if unit not in UNITS:
        raise _CcError(404, f"本节点没有 {unit} 这种货币。 No currency {unit} on this node.")


def authenticated_node(unit: str):
    """The neighbour calling for `unit`, after the last-hash and signature checks (nothing is written on failure)."""
    _check_unit(unit)
    nodes = [node_from_doc(d) for d in current_db()[NODES].find({"unit": unit}).sort("_id", -1)]
    node = authenticate(request.headers, nodes)
    node.check_signature(request.headers, request.method, _cc_path(unit), request.get_data())
    return node


def _cc_path(unit: str) -> str:
    """The request's path below the node's base URL for the unit (what the signature covers)."""
    return request.path.split(f"/cc/{unit}/", 1)[1] if f"/cc/{unit}/" in request.path else ""


def _trace(node) -> dict:
    return {"cc-node-trace": response_trace(request.headers.get("cc-node-trace"), node)}


def _run(fn):
    """A /cc request in one unit of work; a protocol refusal or an authentication failure writes nothing."""
    try:
        return current_app.extensions["runtime"].uow.run(fn)
    except ccflow.CcRefusal as refusal:
        raise _CcError(refusal.status, refusal.message) from refusal


# The protocol's own headers, and its own error format (application/json, not problem+json) for its refusals.
CC_HEADERS = [{"in": "header", "name": name, "required": False, "schema": {"type": "string"},
               "description": text} for name, text in (
    ("cc-node", "the calling node's path: our trunkward node"),
    ("last-hash", "the head of the hash chain we share with it"),
    ("cc-node-trace", "the trace of nodes the request went through"))]


def _cc_doc(view, extra=()):
    for status, text in ((401, "cc-node, last-hash or cc-signature missing or wrong, or this unit is not grafted"),
                         (404, "no such unit (or transaction) on this node"), *extra):
        view = cc.alt_response(status, schema=schemas.CcErrorSchema, content_type="application/json",
                               description=f'Credit Commons error {{"errors": ["<message>"]}}: {text}')(view)
    return cc.doc(parameters=CC_HEADERS)(view)


@cc.get("/<unit>/")
@cc.response(200, schemas.CcWelcomeSchema)
@_cc_doc
def welcome(unit):
    """The authentication probe: 200 when `cc-node` names our trunkward node and `last-hash` is our head."""
    node = authenticated_node(unit)
    return {"message": WELCOME}, 200, {"cc-node-trace": response_trace(request.headers.get("cc-node-trace"), node)}




_REFUSALS = ((400, "the transaction is refused (bad body, payee not local, net limit, amount too small)"),
             (409, "the transaction is in a state that cannot take this change"),
             (503, "a request of ours to the caller is in flight: retry shortly (nothing changed)"))


def _cc_doc_changes(view):
    return _cc_doc(view, _REFUSALS)


@cc.post("/<unit>/transaction/relay")
@cc.response(200, schemas.CcTransactionAnswerSchema)
@_cc_doc_changes
def relay(unit):
    """Relay a new transaction from a neighbour (0.9: state V, one entry whose payee is ours): validated and kept,
    nothing posted yet; the hash chain advances. A repeat of the same relay gets the same answer."""
    _check_unit(unit)
    raw, now = request.get_data(), utcnow()
    answer, t = _run(lambda tx: ccflow.receive_relay(tx, unit, request.headers, raw, _cc_path(unit), now))
    return answer, 200, _trace_for(unit, t)


@cc.patch("/<unit>/transaction/<transfer_id>/<state>")
@cc.response(201, schemas.CcTransactionSchema)
@_cc_doc_changes
def change_state(unit, transfer_id, state):
    """Move a transaction the neighbour relayed: P (pending), C (completed: the payee is credited, once), E (erased)
    or T (timed out); the hash chain advances. A repeat of the latest change gets the same answer."""
    _check_unit(unit)
    now = utcnow()
    try:
        t = _run(lambda tx: ccflow.receive_state(tx, unit, request.headers, transfer_id, state, _cc_path(unit), now))
    except Unprocessable as problem:  # not a state of the protocol
        raise _CcError(404, problem.detail) from problem
    except Conflict as problem:  # a state the transaction cannot take now
        raise _CcError(409, problem.detail) from problem
    return ccflow.wire_transaction(t), 201, _trace_for(unit, t)


@cc.get("/<unit>/transaction/<transfer_id>")
@cc.response(200, schemas.CcTransactionSchema)
@_cc_doc
def get_transaction(unit, transfer_id):
    """A transaction shared with the calling neighbour, with its state and version."""
    _check_unit(unit)
    t = _run(lambda tx: ccflow.fetch(tx, unit, request.headers, transfer_id, _cc_path(unit)))
    return ccflow.wire_transaction(t), 200, _trace_for(unit, t)


def _trace_for(unit: str, t) -> dict:
    node = node_from_doc(current_db()[NODES].find_one({"_id": t.neighbour_id}))
    return _trace(node)


# -- residents: pay an account on another node -------------------------------------------------------------
transfers = Blueprint("federated_transfers", __name__, url_prefix="/v1/federation",
                      description="联网转账 A resident pays an account on another deployment (Credit Commons)")
_transfer_problems = problem_responses(transfers, {401: "no or invalid bearer token", 404: "no such transfer of mine",
                                                   422: "not federated, no route, net limit, or refused by the "
                                                        "other node"})


@transfers.post("/transfers")
@transfers.arguments(schemas.CcTransferArgsSchema())
@transfers.response(202, schemas.CcTransferSchema)
@_transfer_problems
def pay_remote(body):
    """Pay an account on another node (`<node path>/<community code>/<handle>`). The other node validates it first
    (its answer is awaited here: refused → 422 and nothing happened); then the ledger holds my funds and the
    transfer completes on the other node first, then here (202: follow it with GET)."""
    p = current_principal()
    t = current_bus().handle(commands.StartCcTransfer(body["unit"], p.community_id, p.member_id, body["payee"],
                                                      body["amount"], body.get("memo"), utcnow()))
    t = ccflow.advance(current_app.extensions["runtime"], t.uuid) or t
    if t.state == "refused":
        raise Unprocessable(f"对方节点拒绝了这笔转账：{t.reason} The other node refused this transfer: {t.reason}",
                                   code="cc_refused", uuid=t.uuid)
    return ccflow.public(t)


@transfers.get("/transfers")
@transfers.response(200, schemas.CcTransferSchema(many=True))
@_transfer_problems
def my_remote_transfers():
    """My transfers with other nodes, newest first (paid and received)."""
    p = current_principal()
    docs = current_db()[CcRepository.TRANSFERS].find({"community_id": p.community_id, "member_id": p.member_id}) \
        .sort("created_at", -1).limit(100)
    return [ccflow.public(from_doc(d)) for d in docs]


@transfers.get("/transfers/<transfer_id>")
@transfers.response(200, schemas.CcTransferSchema)
@_transfer_problems
def my_remote_transfer(transfer_id):
    """One of my transfers with another node, where it stands."""
    p = current_principal()
    doc = current_db()[CcRepository.TRANSFERS].find_one({"_id": transfer_id, "community_id": p.community_id,
                                                         "member_id": p.member_id})
    if doc is None:
        raise NotFound("没有这笔联网转账。No such transfer of yours.", code="unknown_cc_transfer")
    return ccflow.public(from_doc(doc))



@transfers.get("/address")
@transfers.response(200, schemas.CcAddressSchema(many=True))
@problem_responses(transfers, {401: "no or invalid bearer token",
                               422: "cc_member_unknown: a unit is grafted but the exchange has not yet heard my "
                                    "public handle or my community's code (try again shortly)"})
def my_address():
    """My address in each grafted unit (`<node path>/<community code>/<handle>`): what a resident of another
    deployment types to pay me. An empty list when this deployment is not federated in any unit."""
    p = current_principal()
    return views.my_addresses(current_db(), p.community_id, p.member_id)
