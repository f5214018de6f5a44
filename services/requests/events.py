"""Events the requests service publishes on requests.events (member ids only; no names, no phone numbers).

The one free text that travels is a request's or activity's title, in HelpClaimed: the payer's bill must say
what it is for, and a title is what the requester chose to show the whole community."""
from __future__ import annotations

from shared import topics
from shared.envelope import new_event
from shared.uow import Tx

PRODUCER = "requests"

REQUEST_EVENTS = ("RequestPosted", "RequestAccepted", "HelperReleased", "RequestCancelled", "RequestExpired",
                  "HelpStarted", "HelpClaimed", "ClaimLapsed", "RequestCompleted", "RequestDisputed", "HelpRated",
                  "DisputeClosed")
OFFER_EVENTS = ("OfferPosted", "OfferWithdrawn")
ACTIVITY_EVENTS = ("ActivityPublished", "ActivitySignedUp", "ActivityWithdrawn", "AttendanceVerified")


def _key(type_: str, payload: dict) -> str:
    # Partition by the aggregate, so the events of one request / offer / activity stay ordered.
    if type_ in OFFER_EVENTS:
        return payload["offer_id"]
    if type_ in ACTIVITY_EVENTS:
        return payload["activity_id"]
    return payload["request_id"]  # HelpClaimed of an activity carries request_id = activity_id


def emit_all(tx: Tx, entity) -> None:
    """Emit the events an entity recorded, in order, and clear them."""
    for type_, payload in entity.events:
        tx.emit(topics.REQUESTS, new_event(type_, payload, key=_key(type_, payload), producer=PRODUCER,
                                           community_id=payload["community_id"]))
    entity.events.clear()
