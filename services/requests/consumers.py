"""What the requests service consumes: the ledger's transfer news for claims (completed / disputed); its own
request events and the community's settings and members for the statistics read model (services.requests.stats)."""
from __future__ import annotations

from shared import topics
from shared.consumer import Subscription
from services.requests import schemas
from services.requests.handlers import TRANSFER_STATES, on_appeal_decided, on_community_news, on_request_news, on_transfer

GROUP = "requests"
TOPICS = (topics.LEDGER, topics.REQUESTS, topics.COMMUNITY)


def subscriptions(runtime) -> dict[str, Subscription]:
    """TransferPending/Posted/Rejected/Cancelled/Expired → the claim's request or activity sign-up; a disputed
    claim's appeal decided (upheld completes the request, dismissed closes the dispute); requests posted, accepted
    and completed, community settings and members → the statistics."""
    return {**{type_: Subscription(schemas.TransferEventSchema, on_transfer) for type_ in TRANSFER_STATES},
            **{type_: Subscription(schemas.AppealDecidedSchema, on_appeal_decided)
               for type_ in ("AppealUpheld", "AppealDismissed")},
            "RequestPosted": Subscription(schemas.RequestPostedNewsSchema, on_request_news),
            "RequestAccepted": Subscription(schemas.RequestNewsSchema, on_request_news),
            "RequestCompleted": Subscription(schemas.RequestNewsSchema, on_request_news),
            "CommunityCreated": Subscription(schemas.CommunityNewsSchema, on_community_news),
            "CommunityUpdated": Subscription(schemas.CommunityNewsSchema, on_community_news),
            "MemberJoined": Subscription(schemas.MemberNewsSchema, on_community_news),
            "MemberUpdated": Subscription(schemas.MemberNewsSchema, on_community_news)}
