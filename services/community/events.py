"""Events the community service publishes on community.events (no names or phone numbers)."""
from __future__ import annotations

from shared import topics
from shared.envelope import new_event
from services.community.partners import EVENT_TYPES

PRODUCER = "community"


def _emit(tx, type_: str, payload: dict, key: str):
    return tx.emit(topics.COMMUNITY, new_event(type_, payload, key=key, producer=PRODUCER,
                                               community_id=payload["community_id"]))


def community_created(tx, community: dict, type_: str = "CommunityCreated"):
    """CommunityCreated / CommunityUpdated."""
    payload = {k: community[k] for k in ("community_id", "code", "name", "point_value_fen", "settings")}
    return _emit(tx, type_, payload, community["community_id"])


def grid_created(tx, grid: dict):
    """GridCreated."""
    return _emit(tx, "GridCreated", {k: grid[k] for k in ("community_id", "grid_id", "name", "neighbours")},
                 grid["grid_id"])


def member_changed(tx, member, type_: str):
    """MemberJoined / MemberUpdated: the member's non-personal facts."""
    return _emit(tx, type_, member.public_facts(), member.member_id)


def member_deactivated(tx, member):
    """MemberDeactivated."""
    return _emit(tx, "MemberDeactivated", {"community_id": member.community_id, "member_id": member.member_id},
                 member.member_id)


def partner_agreement_changed(tx, agreement, action: str, by_community: str):
    """PartnerAgreementProposed / Accepted / Declined / Suspended / Resumed / Ended (communities and terms only)."""
    return _emit(tx, EVENT_TYPES[action], agreement.event_facts(action, by_community), agreement.agreement_id)


def points_rules_versioned(tx, version):
    """PointsRulesVersioned: a version of the community's points rules, whole, and when it takes effect."""
    return _emit(tx, "PointsRulesVersioned", version.event_facts(), version.community_id)


def grid_report_verified(tx, facts: dict):
    """GridReportVerified: a 随手拍 report verified (ids, its type, whether a major hazard was confirmed)."""
    return _emit(tx, "GridReportVerified", facts, facts["member_id"])


def duty_verified(tx, facts: dict):
    """DutyVerified: a member's standing duty verified for one period (once per member, duty and period)."""
    return _emit(tx, "DutyVerified", facts, facts["member_id"])
