"""Federation HTTP: the operator grafts this deployment onto a trunkward node (/v1/federation/nodes), and the
Credit Commons 0.9 endpoints other nodes call (/cc/<unit>/…), authenticated by `cc-node` and `last-hash`.

The /cc routes answer as the protocol's peers expect: `application/json` with `{"errors": ["<message>"]}` on
failure (Komunitin's format); the same body also carries the problem fields (type, title, status, detail)."""
from __future__ import annotations


from flask import jsonify, request

from shared.auth import require_operator_key
from shared.mongo import utcnow
from shared.schemas import problem_responses
from shared.web import ServiceBlueprint as Blueprint, current_bus, current_db
from services.exchange import commands, schemas
from services.exchange.federation import UNITS, CcUnauthorized, authenticate, response_trace
from services.exchange.repository import NODES, node_from_doc, node_id

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
    titles = {401: "Unauthorized", 404: "Not found"}
    response = jsonify({"errors": [error.message], "type": f"https://timebank.example/problems/{error.status}",
                        "title": titles.get(error.status, "Error"), "status": error.status, "detail": error.message})
    response.status_code = error.status
    return response


def authenticated_node(unit: str):
    """The trunkward node calling for `unit`, after the last-hash check (nothing is written on failure)."""
    if unit not in UNITS:
        raise _CcError(404, f"No currency {unit} on this node.")
    node = node_from_doc(current_db()[NODES].find_one({"_id": node_id(unit)}))
    return authenticate(request.headers, node)


# The protocol's own headers, and its own error format (application/json, not problem+json) for its refusals.
CC_HEADERS = [{"in": "header", "name": name, "required": False, "schema": {"type": "string"},
               "description": text} for name, text in (
    ("cc-node", "the calling node's path: our trunkward node"),
    ("last-hash", "the head of the hash chain we share with it"),
    ("cc-node-trace", "the trace of nodes the request went through"))]


def _cc_doc(view):
    for status, text in ((401, "cc-node or last-hash missing or wrong, or this unit is not grafted"),
                         (404, "no such unit on this node")):
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


