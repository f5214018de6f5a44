"""What the exchange consumer subscribes to: communities' point values, partner agreements, cross transfers."""
from __future__ import annotations

from shared import topics
from shared.consumer import Subscription
from services.exchange import reactions, schemas

GROUP = "exchange"
TOPICS = (topics.COMMUNITY, topics.LEDGER)
AGREEMENT_EVENTS = ("PartnerAgreementProposed", "PartnerAgreementAccepted", "PartnerAgreementDeclined",
                    "PartnerAgreementSuspended", "PartnerAgreementResumed", "PartnerAgreementEnded")


def subscriptions(runtime) -> dict[str, Subscription]:
    """Event type → (payload schema, handler)."""
    community = Subscription(schemas.CommunityEventSchema, reactions.community_changed)
    agreement = Subscription(schemas.AgreementEventSchema, reactions.agreement_changed)
    return {
        "CommunityCreated": community,
        "CommunityUpdated": community,
        **{name: agreement for name in AGREEMENT_EVENTS},
        "CrossTransferPosted": Subscription(schemas.CrossTransferPostedSchema, reactions.cross_transfer_posted),
        # Federation: the handles addresses name, and the ledger's answer to a federated debit.
        **{name: Subscription(schemas.MemberEventSchema, reactions.member_changed)
           for name in ("MemberJoined", "MemberUpdated", "MemberDeactivated")},
        **{name: Subscription(schemas.LedgerTransferEventSchema, reactions.ledger_transfer)
           for name in ("TransferPending", "TransferRejected")},
    }
