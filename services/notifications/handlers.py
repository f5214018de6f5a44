"""What the notification centre does: store the notices an event means (each in the consumer's transaction),
and mark notifications read (a command in its own unit of work)."""
from __future__ import annotations

from datetime import datetime

from shared.envelope import Event
from shared.uow import Tx
from services.notifications import commands, model
from services.notifications.model import Notice
from services.notifications.repository import NotificationRepository


def _store(tx: Tx, event: Event, community_id: str, notices: list[Notice]) -> None:
    repo = NotificationRepository(tx)
    created_at = datetime.fromisoformat(event.occurred_at)
    for notice in notices:
        repo.add(model.new_notification(notice, event_id=event.id, community_id=community_id,
                                        created_at=created_at))


def on_transfer(event: Event, p: dict, tx: Tx) -> None:
    """ledger.events: TransferPending / Posted / Rejected / Expired / Cancelled (across communities the payee is
    told in the payee's own community)."""
    notices = model.transfer_notices(event.type, p)
    payee_community = (p.get("cross") or {}).get("payee_community")
    if payee_community:
        _store(tx, event, payee_community, [n for n in notices if n.member_id == p["payee_id"]])
        notices = [n for n in notices if n.member_id != p["payee_id"]]
    _store(tx, event, p["community_id"], notices)


def on_request(event: Event, p: dict, tx: Tx) -> None:
    """requests.events about a request: remember its parties, tell them of its status changes."""
    repo = NotificationRepository(tx)
    parties = repo.request_parties(p["request_id"])
    _store(tx, event, p["community_id"], model.request_notices(event.type, p, parties))
    after = model.parties_after(event.type, p, parties)
    if after is not None and after != parties:
        repo.save_request_parties(p["request_id"], p["community_id"], after)


def on_match_suggested(event: Event, p: dict, tx: Tx) -> None:
    """matching.events: MatchSuggested."""
    _store(tx, event, p["community_id"], model.suggestion_notices(p))


def on_redemption(event: Event, p: dict, tx: Tx) -> None:
    """settlement.events: RedemptionRequested / Completed / Declined / Expired."""
    _store(tx, event, p["community_id"], model.redemption_notices(event.type, p))


def on_charge_issued(event: Event, p: dict, tx: Tx) -> None:
    """settlement.events: ChargeIssued (a property-fee bill addressed to a member)."""
    _store(tx, event, p["community_id"], model.charge_notices(p))


def on_points_expiring(event: Event, p: dict, tx: Tx) -> None:
    """ledger.events: PointsExpiring."""
    _store(tx, event, p["community_id"], model.expiry_notices(p))


def on_appeal(event: Event, p: dict, tx: Tx) -> None:
    """ledger.events: AppealUpheld / AppealDismissed."""
    _store(tx, event, p["community_id"], model.appeal_notices(event.type, p))


def on_appeal_filed(event: Event, p: dict, tx: Tx) -> None:
    """ledger.events: AppealFiled (its reviewers hear of it)."""
    reviewers = NotificationRepository(tx).reviewers(p["community_id"])
    _store(tx, event, p["community_id"], model.appeal_filed_notices(p, reviewers))


def on_member(event: Event, p: dict, tx: Tx) -> None:
    """community.events: MemberJoined / MemberUpdated / MemberDeactivated (who reviews appeals, and where)."""
    NotificationRepository(tx).save_reviewer(p["member_id"], model.reviewer_facts(p))  # deactivated: no roles


def mark_read(cmd: commands.MarkRead, tx: Tx) -> dict:
    """Mark the member's notifications read; the number still unread."""
    repo = NotificationRepository(tx)
    repo.mark_read(cmd.member_id, cmd.community_id, list(cmd.ids) if cmd.ids is not None else None, cmd.now)
    return {"unread": repo.unread(cmd.member_id, cmd.community_id)}


HANDLERS = {commands.MarkRead: mark_read}
