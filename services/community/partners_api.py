"""HTTP API of partner-community agreements (/v1/partners): community admins propose, accept, decline,
suspend, resume and end the agreements through which two communities honour each other's credits."""
from __future__ import annotations


from flask import current_app

from shared.auth import admin_community, current_principal
from shared.mongo import utcnow
from shared.ratelimit import limiter
from shared.schemas import problem_responses
from shared.web import ServiceBlueprint as Blueprint, current_bus, current_db
from services.community import commands, schemas, views

blp = Blueprint("partners", __name__, url_prefix="/v1",
                description="互认协议 Partner-community agreements (admins of the two communities), and finding a "
                            "partner community's member by handle (any member)")
ERRORS = {"403": "not an admin of a community of the agreement", "404": "no such agreement or community",
          "409": "the agreement's state does not allow this, or the pair already has a live agreement",
          "422": "invalid terms"}



_document_errors = problem_responses(blp, ERRORS)


def _agreement(community_id: str, agreement) -> dict:
    return views.partner_agreement(current_db(), community_id, agreement.agreement_id)


@blp.post("/partners")
@blp.arguments(schemas.PartnerProposeSchema())
@blp.response(201, schemas.PartnerAgreementSchema)
@_document_errors
def propose(body):
    """Propose a partner agreement to another community (by its code): units, net limits, rate basis."""
    community_id = admin_community()
    agreement = current_bus().handle(commands.ProposePartnership(
        community_id, body["partner_code"], body["units"], body["clearing_period"], utcnow()))
    return _agreement(community_id, agreement)


@blp.get("/partners")
@blp.arguments(schemas.PartnerListArgsSchema(), location="query")
@blp.response(200, schemas.PartnerAgreementSchema(many=True))
@_document_errors
def list_agreements(args):
    """My community's agreements; `direction=incoming&state=proposed` lists the proposals awaiting my answer."""
    return views.partner_agreements(current_db(), admin_community(), args["direction"], args.get("state"))


@blp.get("/partners/<agreement_id>")
@blp.response(200, schemas.PartnerAgreementSchema)
@_document_errors
def get_agreement(agreement_id):
    """One agreement of my community, with its history."""
    return views.partner_agreement(current_db(), admin_community(), agreement_id)


def _action_route(action: str, summary: str):
    @blp.post(f"/partners/<agreement_id>/{action}", endpoint=f"partner_{action}")
    @blp.response(200, schemas.PartnerAgreementSchema)
    @_document_errors
    def act(agreement_id):
        community_id = admin_community()
        agreement = current_bus().handle(commands.ActOnPartnership(community_id, agreement_id, action, utcnow()))
        return _agreement(community_id, agreement)
    act.__doc__ = summary
    return act


accept = _action_route("accept", "Accept a proposal addressed to my community (the partner's admin).")
decline = _action_route("decline", "Decline a proposal addressed to my community (the partner's admin).")
suspend = _action_route("suspend", "Suspend an active agreement (either community's admin).")
resume = _action_route("resume", "Resume a suspended agreement (the admin of the community that suspended it).")
end = _action_route("end", "End an agreement (either admin), or withdraw my own proposal.")


DEFAULT_LOOKUP_LIMIT = "30/minute"


def _lookup_limit() -> str:
    # Per caller (bearer token), counted across every process (shared storage): handles cannot be harvested by
    # trying names; operators change it with COMMUNITY_LOOKUP_RATE_LIMIT.
    return current_app.config["SERVICE_CONFIG"].setting("LOOKUP_RATE_LIMIT", DEFAULT_LOOKUP_LIMIT)


@blp.get("/partner-members/<partner_code>/<handle>")
@limiter.limit(_lookup_limit)
@blp.response(200, schemas.PartnerMemberSchema)
@problem_responses(blp, {403: "my community has no active agreement with that community",
                         404: "no community with that code, or no active member with that handle in it",
                         422: "the code is my own community's"})
def find_partner_member(partner_code, handle):
    """Find a member of a partner community by the community's code and the member's public handle (any
    member, while the two communities have an active agreement; never by phone number)."""
    return views.partner_member(current_db(), current_principal().community_id, partner_code, handle)
