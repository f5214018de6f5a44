"""What the settlement consumer subscribes to: members and communities, ledger accounts, pay codes, transfers."""
from __future__ import annotations

from shared import topics
from shared.consumer import Subscription
from services.settlement import reactions, schemas, thresholds

GROUP = "settlement"
TOPICS = (topics.COMMUNITY, topics.LEDGER)


def subscriptions(runtime) -> dict[str, Subscription]:
    """Event type → (payload schema, handler)."""
    transfer = Subscription(schemas.TransferEventSchema, reactions.transfer_changed)
    return {
        "CommunityCreated": Subscription(schemas.CommunityEventSchema, reactions.community_changed),
        "CommunityUpdated": Subscription(schemas.CommunityEventSchema, reactions.community_changed),
        "MemberJoined": Subscription(schemas.MemberEventSchema, reactions.member_changed),
        "MemberUpdated": Subscription(schemas.MemberEventSchema, reactions.member_changed),
        "MemberDeactivated": Subscription(schemas.MemberDeactivatedSchema, reactions.member_deactivated),
        "AccountOpened": Subscription(schemas.AccountOpenedSchema, reactions.account_opened),
        "CreditLimitChanged": Subscription(schemas.AccountOpenedSchema, reactions.account_opened),
        "PayCodeIssued": Subscription(schemas.PayCodeIssuedSchema, reactions.pay_code_issued),
        "PayCodeUsed": Subscription(schemas.PayCodeUsedSchema, reactions.pay_code_used),
        "TransferPending": transfer,
        "TransferPosted": transfer,
        "TransferRejected": transfer,
        "TransferCancelled": transfer,
        "TransferExpired": transfer,
        **thresholds.subscriptions(),  # the minimum redemption threshold of each community's points rules
    }
