"""What the requests service consumes: the ledger's transfer news for claims (completed / disputed)."""
from __future__ import annotations

from shared import topics
from shared.consumer import Subscription
from services.requests.handlers import TRANSFER_STATES, on_appeal_decided, on_transfer
from services.requests.schemas import AppealDecidedSchema, TransferEventSchema

GROUP = "requests"
TOPICS = (topics.LEDGER,)


def subscriptions(runtime) -> dict[str, Subscription]:
    """TransferPending/Posted/Rejected/Cancelled/Expired → the claim's request or activity sign-up."""
    return {**{type_: Subscription(TransferEventSchema, on_transfer) for type_ in TRANSFER_STATES},
            # a disputed claim's appeal decided: upheld completes the request, dismissed closes the dispute
            **{type_: Subscription(AppealDecidedSchema, on_appeal_decided)
               for type_ in ("AppealUpheld", "AppealDismissed")}}
