"""Command handlers of the requests service: each runs inside one unit of work."""
from __future__ import annotations

import logging
import secrets
from datetime import datetime

from shared import idempotency
from shared.envelope import Event
from shared.mongo import utcnow
from shared.uow import Tx
from services.requests import commands, stats
from services.requests.events import emit_all
from services.requests.model import Activity, HelpRequest, Offer, Policy
from services.requests.repository import RequestsRepository, StatsRepository

log = logging.getLogger(__name__)


# -- help requests ------------------------------------------------------------------------------
def post_request(cmd: commands.PostRequest, tx: Tx, policy: Policy) -> HelpRequest:
    """Post a help request; with an Idempotency-Key a retried post returns the first request."""
    repo = RequestsRepository(tx)

    def create():
        req = HelpRequest.post(community_id=cmd.actor.community_id, requester_id=cmd.actor.member_id,
                               is_staff=cmd.actor.is_staff, now=cmd.at, **cmd.fields)
        repo.add_request(req)
        emit_all(tx, req)
        return {"request_id": req.request_id}, 201

    scope = f"post-request:{cmd.actor.community_id}:{cmd.actor.member_id}"
    answer, _ = idempotency.once(tx, scope, cmd.idempotency_key, cmd.fields, create)
    return repo.request(cmd.actor.community_id, answer["request_id"])


def _change(tx: Tx, actor: commands.Actor, request_id: str, change) -> HelpRequest:
    repo = RequestsRepository(tx)
    req = repo.request(actor.community_id, request_id)
    result = change(req, repo)
    repo.save_request(req)
    emit_all(tx, req)
    return result if result is not None else req


def accept_request(cmd: commands.AcceptRequest, tx: Tx, policy: Policy) -> HelpRequest:
    """First come, first served; the helper's open commitments are counted under a lock."""
    def change(req, repo):
        load = repo.lock_helper_load(cmd.actor.community_id, cmd.actor.member_id) \
            if cmd.actor.member_id != req.requester_id else 0
        req.accept(cmd.actor.member_id, load, policy, cmd.at)
    return _change(tx, cmd.actor, cmd.request_id, change)


def release_helper(cmd: commands.ReleaseHelper, tx: Tx, policy: Policy) -> HelpRequest:
    """The requester releases a no-show helper (or the helper steps back); the request reopens."""
    return _change(tx, cmd.actor, cmd.request_id, lambda req, _: req.release(cmd.actor.member_id, cmd.at))


def cancel_request(cmd: commands.CancelRequest, tx: Tx, policy: Policy) -> HelpRequest:
    """The requester (or staff) cancels before the help has started."""
    return _change(tx, cmd.actor, cmd.request_id,
                   lambda req, _: req.cancel(cmd.actor.member_id, cmd.actor.is_staff, cmd.at))


def issue_check_code(cmd: commands.IssueCheckCode, tx: Tx, policy: Policy) -> dict:
    """A fresh 6-digit one-time code for the next check step; only its salted hash is stored."""
    code = f"{secrets.randbelow(10**6):06d}"

    def change(req, _):
        issued = req.issue_code(cmd.actor.member_id, code, secrets.token_hex(8), policy, cmd.at)
        return {"request": req, "code": code, "purpose": issued.purpose, "expires_at": issued.expires_at,
                "qr_payload": f"timebank://{issued.purpose}/{req.request_id}/{code}"}
    return _change(tx, cmd.actor, cmd.request_id, change)


def check_in(cmd: commands.CheckIn, tx: Tx, policy: Policy) -> dict:
    """The helper enters the check-in code; a refusal is returned (not raised) so wrong attempts count."""
    return _change(tx, cmd.actor, cmd.request_id, lambda req, _: {
        "request": req, "refusal": req.check_in(cmd.actor.member_id, cmd.code, policy, cmd.at)})


def check_out(cmd: commands.CheckOut, tx: Tx, policy: Policy) -> dict:
    """The helper enters the check-out code; the measured duration is fixed."""
    return _change(tx, cmd.actor, cmd.request_id, lambda req, _: {
        "request": req, "refusal": req.check_out(cmd.actor.member_id, cmd.code, policy, cmd.at)})


def agree_claim(cmd: commands.AgreeClaim, tx: Tx, policy: Policy) -> HelpRequest:
    """The requester agrees to a claim beyond the measured duration."""
    return _change(tx, cmd.actor, cmd.request_id, lambda req, _: req.agree_claim(cmd.actor.member_id, cmd.minutes))


def claim_help(cmd: commands.ClaimHelp, tx: Tx, policy: Policy) -> HelpRequest:
    """The helper claims the time; HelpClaimed asks the ledger for a pending transfer."""
    repo = RequestsRepository(tx)

    def claim():
        req = repo.request(cmd.actor.community_id, cmd.request_id)
        req.claim(cmd.actor.member_id, cmd.minutes, policy, cmd.at)
        repo.save_request(req)
        emit_all(tx, req)
        return {"request_id": req.request_id}, 200

    scope = f"claim:{cmd.actor.community_id}:{cmd.actor.member_id}:{cmd.request_id}"
    idempotency.once(tx, scope, cmd.idempotency_key, {"minutes": cmd.minutes}, claim)
    return repo.request(cmd.actor.community_id, cmd.request_id)


def rate_help(cmd: commands.RateHelp, tx: Tx, policy: Policy) -> HelpRequest:
    """The requester rates the completed help once."""
    return _change(tx, cmd.actor, cmd.request_id,
                   lambda req, _: req.rate(cmd.actor.member_id, cmd.stars, cmd.comment, cmd.at))


def expire_request(cmd: commands.ExpireRequest, tx: Tx, policy: Policy) -> bool:
    """Expire one open request whose window has passed (the scheduler's job); False if not due."""
    repo = RequestsRepository(tx)
    req = repo.find_request(cmd.request_id)
    if req is None or not req.expire(cmd.at):
        return False
    repo.save_request(req)
    emit_all(tx, req)
    return True


# -- offers ---------------------------------------------------------------------------------------
def post_offer(cmd: commands.PostOffer, tx: Tx, policy: Policy) -> Offer:
    """Post an offer of help."""
    offer = Offer.post(community_id=cmd.actor.community_id, member_id=cmd.actor.member_id, now=cmd.at,
                       **cmd.fields)
    RequestsRepository(tx).add_offer(offer)
    emit_all(tx, offer)
    return offer


def withdraw_offer(cmd: commands.WithdrawOffer, tx: Tx, policy: Policy) -> Offer:
    """Withdraw my offer."""
    repo = RequestsRepository(tx)
    offer = repo.offer(cmd.actor.community_id, cmd.offer_id)
    offer.withdraw(cmd.actor.member_id, cmd.at)
    repo.save_offer(offer)
    emit_all(tx, offer)
    return offer


# -- activities -------------------------------------------------------------------------------------
def publish_activity(cmd: commands.PublishActivity, tx: Tx, policy: Policy) -> Activity:
    """Publish a community activity (staff)."""
    act = Activity.publish(community_id=cmd.actor.community_id, organizer_id=cmd.actor.member_id,
                           is_staff=cmd.actor.is_staff, now=cmd.at, **cmd.fields)
    RequestsRepository(tx).add_activity(act)
    emit_all(tx, act)
    return act


def sign_up(cmd: commands.SignUpForActivity, tx: Tx, policy: Policy) -> dict:
    """Take a place; the activity document's count is written, so concurrent sign-ups serialise."""
    repo = RequestsRepository(tx)
    act = repo.activity(cmd.actor.community_id, cmd.activity_id)
    signup = act.sign_up(cmd.actor.member_id, repo.signup(cmd.activity_id, cmd.actor.member_id), cmd.at)
    repo.save_activity(act)
    repo.save_signup(signup)
    emit_all(tx, act)
    return {"activity": act, "signup": signup}


def withdraw_from_activity(cmd: commands.WithdrawFromActivity, tx: Tx, policy: Policy) -> dict:
    """Give my place back before the start."""
    repo = RequestsRepository(tx)
    act = repo.activity(cmd.actor.community_id, cmd.activity_id)
    signup = repo.signup(cmd.activity_id, cmd.actor.member_id)
    act.withdraw(signup, cmd.at)
    repo.save_activity(act)
    repo.save_signup(signup)
    emit_all(tx, act)
    return {"activity": act, "signup": signup}


def verify_attendance(cmd: commands.VerifyAttendance, tx: Tx, policy: Policy) -> dict:
    """The organizer verifies a member's attendance: AttendanceVerified, then HelpClaimed (PT award)."""
    repo = RequestsRepository(tx)
    act = repo.activity(cmd.actor.community_id, cmd.activity_id)
    signup = repo.signup(cmd.activity_id, cmd.member_id)
    act.verify_attendance(cmd.actor.member_id, signup, cmd.minutes, cmd.at)
    repo.save_signup(signup)
    emit_all(tx, act)
    return {"activity": act, "signup": signup}


# -- ledger news (consumed from ledger.events) ---------------------------------------------------------
TRANSFER_STATES = {"TransferPending": "pending", "TransferPosted": "posted", "TransferRejected": "rejected",
                   "TransferCancelled": "cancelled", "TransferExpired": "expired"}


def on_transfer(event: Event, payload: dict, tx: Tx) -> None:
    """Follow a claim's transfer: posted → completed, rejected → disputed, cancelled/expired → claim lapses."""
    reference = payload.get("reference") or {}
    kind, ref_id = reference.get("kind"), reference.get("id")
    if kind not in ("request", "activity") or not ref_id:
        return
    state = TRANSFER_STATES[event.type]
    repo = RequestsRepository(tx)
    if kind == "request":
        req = repo.find_request(ref_id)
        if req is None or (payload.get("payee_id") and payload["payee_id"] != req.helper_id):
            log.info("transfer for an unknown request or another payee ignored",
                     extra={"transfer_id": payload["transfer_id"]})
            return
        at = _occurred(event)
        if state == "pending":
            changed = req.transfer_pending(payload["transfer_id"])
        elif state in ("posted", "rejected"):
            changed = req.transfer_settled(payload["transfer_id"], state == "posted", at)
        else:
            changed = req.transfer_lapsed(payload["transfer_id"], state)
        if changed:
            repo.save_request(req)
            emit_all(tx, req)
        return
    signup = repo.signup(ref_id, payload.get("payee_id") or "")
    if signup is not None and signup.transfer_news(payload["transfer_id"], state):
        repo.save_signup(signup)


def on_appeal_decided(event: Event, payload: dict, tx: Tx) -> None:
    """AppealUpheld / AppealDismissed of a disputed claim (the ledger's 积分异议申诉): the request follows."""
    if payload["kind"] != "claim" or not payload.get("request_id"):
        return
    repo = RequestsRepository(tx)
    req = repo.find_request(payload["request_id"])
    if req is not None and req.appeal_decided(payload["appeal_id"], event.type == "AppealUpheld",
                                              payload.get("transfer_id"), _occurred(event)):
        repo.save_request(req)
        emit_all(tx, req)
# -- the statistics read model (consumed from requests.events and community.events) ----------------------
def on_request_news(event: Event, payload: dict, tx: Tx) -> None:
    """RequestPosted / RequestAccepted / RequestCompleted: count the request once in the month, grid and
    category cell of the moment the fact happened (the time the command carried, in the event)."""
    repo = StatsRepository(tx)
    rid = payload["request_id"]
    if event.type == "RequestPosted":
        if repo.facts(rid) is not None:
            return
        at = payload.get("posted_at") or _occurred(event)
        facts = {"community_id": payload["community_id"], "grid_id": payload.get("grid_id"),
                 "category": payload["category"], "posted_at": at}
        repo.remember(rid, facts)
        _count(repo, facts, at, "posted")
        return
    facts = repo.facts(rid)
    counted = "accepted" if event.type == "RequestAccepted" else "completed"
    if facts is None or not repo.mark(rid, counted):
        return  # a request posted before the read model existed, or counted already (the first acceptance)
    at = payload.get("accepted_at" if counted == "accepted" else "settled_at") or _occurred(event)
    _count(repo, facts, at, counted, stats.wait_bucket(stats.minutes_between(facts["posted_at"], at)) if counted == "accepted" else None)


def _count(repo: StatsRepository, facts: dict, at: datetime, counted: str, wait: int | None = None) -> None:
    """Count in the request's grid cell and in the community's (so the community's year reads 12 x categories
    cells, not 12 x grids x categories)."""
    month = stats.month_of(at, repo.timezone(facts["community_id"]))
    for cell in stats.cells(facts["community_id"], month, facts["grid_id"], facts["category"]):
        repo.add(cell, counted, wait)


def on_community_news(event: Event, payload: dict, tx: Tx) -> None:
    """CommunityCreated / CommunityUpdated: its time zone (months are the community's); MemberJoined /
    MemberUpdated: the member's grid (a grid worker sees their grid's statistics)."""
    repo = StatsRepository(tx)
    if event.type.startswith("Community"):
        repo.save_timezone(payload["community_id"], payload["settings"]["timezone"])
    else:
        repo.save_grid(payload["community_id"], payload["member_id"], payload.get("grid_id"))


def _occurred(event: Event) -> datetime:
    try:
        return datetime.fromisoformat(event.occurred_at)
    except ValueError:
        return utcnow()


HANDLERS = {
    commands.PostRequest: post_request,
    commands.AcceptRequest: accept_request,
    commands.ReleaseHelper: release_helper,
    commands.CancelRequest: cancel_request,
    commands.IssueCheckCode: issue_check_code,
    commands.CheckIn: check_in,
    commands.CheckOut: check_out,
    commands.AgreeClaim: agree_claim,
    commands.ClaimHelp: claim_help,
    commands.RateHelp: rate_help,
    commands.ExpireRequest: expire_request,
    commands.PostOffer: post_offer,
    commands.WithdrawOffer: withdraw_offer,
    commands.PublishActivity: publish_activity,
    commands.SignUpForActivity: sign_up,
    commands.WithdrawFromActivity: withdraw_from_activity,
    commands.VerifyAttendance: verify_attendance,
}
