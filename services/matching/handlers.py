"""Event handlers that keep the matching read model up to date (each runs in the consumer's transaction)."""
from __future__ import annotations

from shared.envelope import Event
from shared.mongo import utcnow
from services.matching import events, repository, scoring
from services.matching.cache import CandidateIndex
from services.matching.model import OPEN, Policy


class Projector:
    """Applies community, requests and ledger events to the read model; suggests helpers for new requests."""

    def __init__(self, index: CandidateIndex, policy: Policy, suggest: bool = True):
        self.index = index
        self.policy = policy
        # A rebuild replays history: residents were told about those requests already.
        self.suggest = suggest

    # -- community.events -----------------------------------------------------------------------
    def community_changed(self, event: Event, payload: dict, tx) -> None:
        """CommunityCreated / CommunityUpdated."""
        repository.set_community(tx, payload["community_id"], payload["settings"])

    def grid_created(self, event: Event, payload: dict, tx) -> None:
        """GridCreated."""
        repository.add_grid(tx, payload["community_id"], payload["grid_id"], payload["neighbours"])

    def member_changed(self, event: Event, payload: dict, tx) -> None:
        """MemberJoined / MemberUpdated."""
        repository.set_member_profile(tx, payload)

    def member_deactivated(self, event: Event, payload: dict, tx) -> None:
        """MemberDeactivated."""
        repository.deactivate_member(tx, payload["community_id"], payload["member_id"])

    # -- requests.events --------------------------------------------------------------------------
    def request_posted(self, event: Event, payload: dict, tx) -> None:
        """RequestPosted: store it and tell the best-fitting neighbours (MatchSuggested)."""
        repository.post_request(tx, payload)
        now = utcnow()
        if not self.suggest or payload.get("kind", "request") != "request" or payload["window_end"] <= now:
            return
        doc = {**payload, "_id": payload["request_id"], "state": OPEN, "released_helpers": []}
        with self.index.view(payload["community_id"]) as view:
            ctx = view.context(doc)
            top = scoring.rank_groups(ctx, view.candidate_groups(ctx), self.policy, now.timestamp(),
                                      self.policy.top_n)
        member_ids = [s.member_id for s in top]
        repository.record_suggestion(tx, payload["request_id"], member_ids, now)
        events.match_suggested(tx, payload["request_id"], payload["community_id"], member_ids,
                               causation_id=event.id)

    def request_accepted(self, event: Event, payload: dict, tx) -> None:
        """RequestAccepted: one more open commitment for the helper."""
        repository.accept(tx, payload)

    def helper_released(self, event: Event, payload: dict, tx) -> None:
        """HelperReleased."""
        repository.release(tx, payload)

    def help_claimed(self, event: Event, payload: dict, tx) -> None:
        """HelpClaimed: the work is done; the commitment no longer counts against the limit."""
        if payload.get("source", "request") == "request":
            repository.end_commitment(tx, payload["request_id"], "claimed")

    def claim_lapsed(self, event: Event, payload: dict, tx) -> None:
        """ClaimLapsed: the commitment counts again until the helper claims anew."""
        repository.reopen_commitment(tx, payload)

    def request_ended(self, state: str, counter: str | None = None):
        """A handler for RequestCancelled / RequestExpired / RequestCompleted / RequestDisputed."""
        def handle(event: Event, payload: dict, tx) -> None:
            repository.end_commitment(tx, payload["request_id"], state, counter)
        return handle

    def help_rated(self, event: Event, payload: dict, tx) -> None:
        """HelpRated."""
        repository.rate(tx, payload["community_id"], payload["helper_id"], payload["stars"])

    def offer_posted(self, event: Event, payload: dict, tx) -> None:
        """OfferPosted."""
        repository.add_offer(tx, payload, utcnow())

    def offer_withdrawn(self, event: Event, payload: dict, tx) -> None:
        """OfferWithdrawn."""
        repository.withdraw_offer(tx, payload)

    # -- ledger.events ------------------------------------------------------------------------------
    def transfer_posted(self, event: Event, payload: dict, tx) -> None:
        """TransferPosted: recent earnings of the payee."""
        repository.add_earning(tx, payload, utcnow(), self.policy.earnings_window_days)
