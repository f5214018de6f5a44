"""What the notification centre reads: the ledger's, requests', matching's and settlement's events, and the
community's member events (who reviews appeals)."""
from __future__ import annotations

from shared import topics
from shared.consumer import Subscription
from services.notifications import handlers as h
from services.notifications import schemas

GROUP = "notifications"
TOPICS = (topics.LEDGER, topics.REQUESTS, topics.MATCHING, topics.SETTLEMENT, topics.COMMUNITY)


def subscriptions(runtime) -> dict[str, Subscription]:
    """Event type → (payload schema, handler)."""
    transfer = Subscription(schemas.TransferEventSchema, h.on_transfer)
    redemption = Subscription(schemas.RedemptionEventSchema, h.on_redemption)
    return {
        **{t: transfer for t in ("TransferPending", "TransferPosted", "TransferRejected", "TransferExpired",
                                 "TransferCancelled")},
        "RequestPosted": Subscription(schemas.RequestPostedSchema, h.on_request),
        "RequestAccepted": Subscription(schemas.RequestAcceptedSchema, h.on_request),
        "HelperReleased": Subscription(schemas.RequestRefSchema, h.on_request),
        "HelpClaimed": Subscription(schemas.HelpClaimedSchema, h.on_request),
        "RequestCompleted": Subscription(schemas.RequestCompletedSchema, h.on_request),
        "RequestCancelled": Subscription(schemas.RequestRefSchema, h.on_request),
        "RequestExpired": Subscription(schemas.RequestRefSchema, h.on_request),
        "MatchSuggested": Subscription(schemas.MatchSuggestedSchema, h.on_match_suggested),
        "ChargeIssued": Subscription(schemas.ChargeIssuedSchema, h.on_charge_issued),
        "PointsExpiring": Subscription(schemas.PointsExpiringSchema, h.on_points_expiring),
        **{t: Subscription(schemas.AppealDecidedSchema, h.on_appeal) for t in ("AppealUpheld", "AppealDismissed")},
        "AppealFiled": Subscription(schemas.AppealFiledSchema, h.on_appeal_filed),
        **{t: Subscription(schemas.MemberSchema, h.on_member) for t in ("MemberJoined", "MemberUpdated",
                                                                        "MemberDeactivated")},
        **{t: redemption for t in ("RedemptionRequested", "RedemptionCompleted", "RedemptionDeclined",
                                   "RedemptionExpired")},
    }
