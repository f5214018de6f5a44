"""What the matching consumer reads: community, requests and ledger events, into the read model."""
from __future__ import annotations

from shared import topics
from shared.consumer import Subscription
from services.matching import schemas
from services.matching.cache import CandidateIndex
from services.matching.handlers import Projector
from services.matching.model import Policy

GROUP = "matching"
TOPICS = (topics.COMMUNITY, topics.REQUESTS, topics.LEDGER)


def subscriptions(runtime, suggest: bool = True) -> dict[str, Subscription]:
    """event type -> Subscription(schema, handler) for the matching read model."""
    policy = Policy.from_config(runtime.config)
    p = Projector(CandidateIndex(runtime.db, policy), policy, suggest=suggest)
    return {
        "CommunityCreated": Subscription(schemas.CommunityEventSchema, p.community_changed),
        "CommunityUpdated": Subscription(schemas.CommunityEventSchema, p.community_changed),
        "GridCreated": Subscription(schemas.GridCreatedSchema, p.grid_created),
        "MemberJoined": Subscription(schemas.MemberEventSchema, p.member_changed),
        "MemberUpdated": Subscription(schemas.MemberEventSchema, p.member_changed),
        "MemberDeactivated": Subscription(schemas.MemberRefSchema, p.member_deactivated),
        "RequestPosted": Subscription(schemas.RequestPostedSchema, p.request_posted),
        "OfferPosted": Subscription(schemas.OfferPostedSchema, p.offer_posted),
        "OfferWithdrawn": Subscription(schemas.OfferWithdrawnSchema, p.offer_withdrawn),
        "RequestAccepted": Subscription(schemas.HelperEventSchema, p.request_accepted),
        "HelperReleased": Subscription(schemas.HelperEventSchema, p.helper_released),
        "HelpClaimed": Subscription(schemas.HelpClaimedSchema, p.help_claimed),
        "ClaimLapsed": Subscription(schemas.HelperEventSchema, p.claim_lapsed),
        "RequestCancelled": Subscription(schemas.RequestRefSchema, p.request_ended("cancelled")),
        "RequestExpired": Subscription(schemas.RequestRefSchema, p.request_ended("expired")),
        "RequestCompleted": Subscription(schemas.RequestRefSchema, p.request_ended("completed", "completed")),
        "RequestDisputed": Subscription(schemas.RequestRefSchema, p.request_ended("disputed", "disputed")),
        "HelpRated": Subscription(schemas.HelpRatedSchema, p.help_rated),
        "TransferPosted": Subscription(schemas.TransferPostedSchema, p.transfer_posted),
    }
