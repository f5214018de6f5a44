"""The notification centre's domain: which member hears about which event, as which kind, with which facts.

Pure Python, no I/O. A notice names a stable `kind` (the app turns it into words in the reader's language),
what it is about (`ref`) and the non-personal facts the screen needs (`data`: ids, units, amounts, titles).
Rules, one notice per thing a person must know or act on:
- What awaits my confirmation is the ledger's pending transfer (`transfer.awaiting_confirmation`), except a
  shop's charge, which is `redemption.requested` (it names the shop and item); a help claim paid in hours is
  announced by its bill, so `request.claimed` goes only to requesters of community tasks (paid in points).
- A transfer's outcome goes to both member parties (a receipt for the one who acted); a cancelled one to
  whom it was waiting for; a redemption's outcome is `redemption.*` (from settlement), never also `transfer.*`.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from shared.economy.appeal import GRID_KINDS

# Kinds: stable codes, the app's catalogue turns them into words.
AWAITING = "transfer.awaiting_confirmation"
TRANSFER_KINDS = {"TransferPosted": "transfer.posted", "TransferRejected": "transfer.rejected",
                  "TransferExpired": "transfer.expired", "TransferCancelled": "transfer.cancelled"}
REQUEST_ACCEPTED, REQUEST_CLAIMED = "request.accepted", "request.claimed"
REQUEST_COMPLETED, REQUEST_CANCELLED, REQUEST_EXPIRED = "request.completed", "request.cancelled", "request.expired"
REQUEST_SUGGESTED = "request.suggested"
REDEMPTION_REQUESTED = "redemption.requested"
REDEMPTION_KINDS = {"RedemptionCompleted": "redemption.approved", "RedemptionDeclined": "redemption.declined",
                    "RedemptionExpired": "redemption.expired"}
CHARGE_ISSUED = "charge.issued"
POINTS_EXPIRING = "points.expiring"
APPEAL_KINDS = {"AppealUpheld": "appeal.upheld", "AppealDismissed": "appeal.dismissed"}
APPEAL_FILED = "appeal.filed"
KINDS = (AWAITING, *TRANSFER_KINDS.values(), REQUEST_ACCEPTED, REQUEST_CLAIMED, REQUEST_COMPLETED,
         REQUEST_CANCELLED, REQUEST_EXPIRED, REQUEST_SUGGESTED, REDEMPTION_REQUESTED, *REDEMPTION_KINDS.values(),
         CHARGE_ISSUED, POINTS_EXPIRING, *APPEAL_KINDS.values(), APPEAL_FILED)

# Who confirms a pending transfer, by workflow (awards are confirmed by staff verifiers: staff screens).
CONFIRMER = {"bill": "payer_id", "credit": "payee_id"}
MEMBER_WORKFLOWS = ("bill", "credit", "award")  # redeem: settlement's redemption.* notices; system: none


@dataclass(frozen=True)
class Notice:
    """One member's notification about one event."""

    member_id: str
    kind: str
    ref: dict
    data: dict = field(default_factory=dict)


def notification_id(event_id: str, member_id: str, kind: str) -> str:
    """The same event tells the same member the same thing once, whatever delivers it again."""
    return "n_" + hashlib.sha256(f"{event_id}|{member_id}|{kind}".encode()).hexdigest()[:24]


def new_notification(notice: Notice, *, event_id: str, community_id: str, created_at: datetime) -> dict:
    """The stored notification (unread)."""
    return {"notification_id": notification_id(event_id, notice.member_id, notice.kind),
            "member_id": notice.member_id, "community_id": community_id, "kind": notice.kind,
            "created_at": created_at, "read": False, "read_at": None, "ref": notice.ref, "data": notice.data,
            "event_id": event_id}


# -- ledger.events --------------------------------------------------------------------------------
def account_owner(account_id: str | None) -> tuple[str, str] | None:
    """(kind, owner id) of a ledger account id: m:<c>:<member>:<unit>, x:<c>:<merchant>:PT, s:<c>:<name>:<unit>."""
    parts = (account_id or "").split(":")
    if len(parts) != 4 or not parts[2]:
        return None
    return {"m": "member", "x": "merchant", "s": "community", "p": "partner"}.get(parts[0], "unknown"), parts[2]


def _transfer_facts(p: dict, member_id: str) -> dict:
    debit, credit = account_owner(p["debit_account"]), account_owner(p["credit_account"])
    mine_is_debit = debit == ("member", member_id)
    other = credit if mine_is_debit else debit
    facts = {"transfer_id": p["transfer_id"], "workflow": p["workflow"], "unit": p["unit"], "amount": p["amount"],
             "direction": "out" if mine_is_debit else "in", "reference": p["reference"],
             "counterparty_kind": other[0] if other else None, "counterparty_id": other[1] if other else None}
    if p.get("reason"):
        facts["reason"] = p["reason"]
    return facts


def member_parties(p: dict) -> list[str]:
    """The members on either side of a transfer (merchants and community accounts are not members)."""
    owners = [account_owner(p["debit_account"]), account_owner(p["credit_account"])]
    return list(dict.fromkeys(o[1] for o in owners if o and o[0] == "member"))


def transfer_notices(event_type: str, p: dict) -> list[Notice]:
    """TransferPending → the confirmer; Posted / Rejected / Expired → both member parties; Cancelled → the one
    it was waiting for."""
    if p["workflow"] not in MEMBER_WORKFLOWS:
        return []
    ref = {"kind": "transfer", "id": p["transfer_id"]}
    parties = member_parties(p)
    confirmer = p.get(CONFIRMER.get(p["workflow"], ""), None)
    confirmer = confirmer if confirmer in parties else None
    if event_type == "TransferPending":
        return [Notice(confirmer, AWAITING, ref, _transfer_facts(p, confirmer))] if confirmer else []
    kind = TRANSFER_KINDS.get(event_type)
    if kind is None:
        return []
    if event_type == "TransferCancelled":  # the initiator cancelled it: tell the one it was waiting for
        recipients = [confirmer] if confirmer else []
    else:
        recipients = parties
    return [Notice(m, kind, ref, _transfer_facts(p, m)) for m in recipients]


# -- requests.events ------------------------------------------------------------------------------
def request_notices(event_type: str, p: dict, parties: dict | None) -> list[Notice]:
    """Status changes of a help request, for its requester and helper (`parties`: what was learnt of it)."""
    ref = {"kind": "request", "id": p["request_id"]}
    parties = parties or {}
    requester, helper = parties.get("requester_id"), parties.get("helper_id")
    if event_type == "RequestAccepted":
        return [Notice(p["requester_id"], REQUEST_ACCEPTED, ref, {"request_id": p["request_id"],
                                                                  "helper_id": p["helper_id"]})]
    if event_type == "HelpClaimed":
        if p["source"] != "request" or p["payer_id"] or not requester:
            return []  # an hour-paid claim is announced by its bill; activities by their award
        return [Notice(requester, REQUEST_CLAIMED, ref, {
            "request_id": p["request_id"], "helper_id": p["helper_id"], "unit": p["unit"], "minutes": p["minutes"],
            "claim_id": p["claim_id"], "title": p["title"]})]
    if event_type == "RequestCompleted":
        return [Notice(m, REQUEST_COMPLETED, ref, {"request_id": p["request_id"], "transfer_id": p["transfer_id"],
                                                   "counterparty_id": other})
                for m, other in ((requester, helper), (helper, requester)) if m]
    if event_type == "RequestCancelled":
        return [Notice(helper, REQUEST_CANCELLED, ref, {"request_id": p["request_id"],
                                                        "requester_id": requester})] if helper else []
    if event_type == "RequestExpired":
        return [Notice(requester, REQUEST_EXPIRED, ref, {"request_id": p["request_id"]})] if requester else []
    return []


def parties_after(event_type: str, p: dict, parties: dict | None) -> dict | None:
    """What the notification centre remembers of a request after `event_type` (requester and helper ids)."""
    if event_type == "RequestPosted":
        return {"requester_id": p["requester_id"], "helper_id": None}
    if parties is None:
        return None
    if event_type == "RequestAccepted":
        return {**parties, "helper_id": p["helper_id"]}
    if event_type == "HelperReleased":
        return {**parties, "helper_id": None}
    return parties


# -- matching.events ------------------------------------------------------------------------------
def suggestion_notices(p: dict) -> list[Notice]:
    """MatchSuggested: each suggested neighbour hears of the request."""
    ref = {"kind": "request", "id": p["request_id"]}
    return [Notice(m, REQUEST_SUGGESTED, ref, {"request_id": p["request_id"]})
            for m in dict.fromkeys(p["member_ids"])]


# -- settlement.events ----------------------------------------------------------------------------
def redemption_notices(event_type: str, p: dict) -> list[Notice]:
    """A shop's charge awaiting the member (not one paid with a pay code: nothing awaits), and its outcome."""
    ref = {"kind": "redemption", "id": p["redemption_id"]}
    facts = {"redemption_id": p["redemption_id"], "merchant_id": p["merchant_id"], "points": p["points"]}
    if event_type == "RedemptionRequested":
        if p["pay_code"]:
            return []
        return [Notice(p["member_id"], REDEMPTION_REQUESTED, ref, {
            **facts, "bill_fen": p["bill_fen"], "item_id": p["item_id"], "merchant_name": p["merchant_name"],
            "item_name": p["item_name"]})]
    kind = REDEMPTION_KINDS.get(event_type)
    return [Notice(p["member_id"], kind, ref, {**facts, "transfer_id": p["transfer_id"]})] if kind else []


def charge_notices(p: dict) -> list[Notice]:
    """ChargeIssued: a bill addressed to the member (a property-fee bill) awaits them, to pay in points."""
    return [Notice(p["member_id"], CHARGE_ISSUED, {"kind": "charge", "id": p["charge_id"]}, {
        "charge_id": p["charge_id"], "merchant_id": p["merchant_id"], "merchant_name": p["merchant_name"],
        "bill_fen": p["bill_fen"], "title": p["memo"]})]


# -- ledger.events: points about to expire ----------------------------------------------------------
def expiry_notices(p: dict) -> list[Notice]:
    """PointsExpiring (the ledger's reminder, once per member, reminder day and expiry date): the member hears how
    many points lapse on which day, and in how many days."""
    return [Notice(p["member_id"], POINTS_EXPIRING, {"kind": "points", "id": p["account_id"]},
                   {"unit": "PT", "amount": p["points"], "expires_on": str(p["expires_on"]), "days": p["days"]})]


# -- ledger.events: an appeal decided ---------------------------------------------------------------------
def appeal_notices(type_: str, p: dict) -> list[Notice]:
    """AppealUpheld / AppealDismissed: the member who appealed hears the outcome (an upheld one with what it paid,
    in the appeal's unit); the reasons are read on the appeal itself."""
    data = {"appeal_id": p["appeal_id"], "appeal_kind": p["kind"], "unit": p["unit"], "disputed": p["disputed"]}
    if type_ == "AppealUpheld":
        data.update(amount=p["amount"], transfer_id=p["transfer_id"])
    return [Notice(p["member_id"], APPEAL_KINDS[type_], {"kind": "appeal", "id": p["appeal_id"]}, data)]


# -- ledger.events: an appeal filed, for its reviewers ----------------------------------------------------
REVIEWER_ROLES = ("admin", "grid_worker")  # the only members the centre keeps roles of (community.events)


def reviewer_facts(p: dict) -> dict | None:
    """MemberJoined / MemberUpdated: what the centre keeps of a member who may review appeals (an active admin or
    grid worker: roles and grid), or None (not one, or no longer one)."""
    roles = [r for r in p.get("roles") or () if r in REVIEWER_ROLES]
    if p.get("status", "active") != "active" or not roles:
        return None
    return {"community_id": p["community_id"], "roles": roles, "grid_id": p.get("grid_id")}


def appeal_filed_notices(p: dict, reviewers: list[dict]) -> list[Notice]:
    """AppealFiled: the reviewers hear of it — the community's admins, and for a decision made in a grid (an
    award, a cap cut, a penalty) the grid worker of the member's grid; never the member, nor who made the
    decision (they may not review it). `reviewers`: {member_id, roles, grid_id} of the community."""
    def reviews(r: dict) -> bool:
        if r["member_id"] == p["member_id"] or r["member_id"] in (p.get("deciders") or ()):
            return False
        in_grid = p["kind"] in GRID_KINDS and p.get("grid_id") is not None and r.get("grid_id") == p["grid_id"]
        return "admin" in r["roles"] or ("grid_worker" in r["roles"] and in_grid)
    data = {"appeal_id": p["appeal_id"], "appeal_kind": p["kind"], "unit": p["unit"], "disputed": p["disputed"]}
    return [Notice(r["member_id"], APPEAL_FILED, {"kind": "appeal", "id": p["appeal_id"]}, data)
            for r in reviewers if reviews(r)]
