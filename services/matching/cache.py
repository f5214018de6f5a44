"""In-process candidate index per community, refreshed from the read model by its change sequence.

A query first reads the community's `seq` (one small document); only members and requests whose `rev`
is newer than what the index holds are fetched again. So an acceptance elsewhere, a cancellation or a new
rating costs the one or two changed documents, never a rescan of 12,000 members or 2,000 requests.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager

from shared.mongo import utcnow
from services.matching import repository
from services.matching.availability import DEFAULT_TIMEZONE
from services.matching.model import OPEN, Candidate, Policy, RequestContext
from services.matching.scoring import NEIGHBOUR_PROXIMITY, standing


class CommunityView:
    """One community: members (skill, offer and grid indexes of the active ones) and its open requests."""

    def __init__(self, community_id: str, gen: str, policy: Policy | None = None):
        self.community_id = community_id
        self.policy = policy
        self.gen = gen
        self.seq = 0
        self.grids_rev = None
        self.timezone = DEFAULT_TIMEZONE
        self.neighbours: dict[str, frozenset] = {}
        self.members: dict[str, Candidate] = {}
        self.by_skill: dict[str, set] = {}
        self.by_grid: dict[str, set] = {}
        self.by_offer: dict[str, set] = {}
        # Open requests, indexed by category and grid, for the member-side view.
        self.request_docs: dict[str, dict] = {}
        self.requests: dict[str, RequestContext] = {}
        self.requests_by_category: dict[str, set] = {}
        self.requests_by_grid: dict[str, set] = {}

    def put(self, candidate: Candidate) -> None:
        """Insert or replace a member, keeping the indexes in step."""
        old = self.members.get(candidate.member_id)
        if old is not None:
            self._unindex(old)
        self.members[candidate.member_id] = candidate
        if self.policy is not None:
            standing(candidate, self.policy, time.time())  # ready before the first query needs it
        if candidate.active:
            for skill in candidate.skills:
                self.by_skill.setdefault(skill, set()).add(candidate.member_id)
            for _, category, _ in candidate.offers:
                self.by_offer.setdefault(category, set()).add(candidate.member_id)
            if candidate.grid_id:
                self.by_grid.setdefault(candidate.grid_id, set()).add(candidate.member_id)

    def _unindex(self, c: Candidate) -> None:
        for skill in c.skills:
            self.by_skill.get(skill, set()).discard(c.member_id)
        for _, category, _ in c.offers:
            self.by_offer.get(category, set()).discard(c.member_id)
        if c.grid_id:
            self.by_grid.get(c.grid_id, set()).discard(c.member_id)

    def candidate_groups(self, request: RequestContext) -> list[tuple[float, float, list[Candidate]]]:
        """Candidates as (skill, proximity, members) groups: skilled (or offering) members and neighbours.

        Members with neither the skill nor a nearby home can score at most availability + standing;
        they are considered only when nobody in the community fits by skill or place.
        """
        skilled = self.by_skill.get(request.category, set()) | self.by_offer.get(request.category, set())
        same = self.by_grid.get(request.grid_id, set()) if request.grid_id else set()
        near: set = set()
        for grid in request.near_grids:
            near |= self.by_grid.get(grid, set())
        members = self.members
        groups = [(1.0, 1.0, skilled & same), (1.0, NEIGHBOUR_PROXIMITY, skilled & near),
                  (0.0, 1.0, same - skilled), (0.0, NEIGHBOUR_PROXIMITY, near - skilled),
                  (1.0, 0.0, skilled - same - near)]
        groups = [(s, p, [members[i] for i in ids]) for s, p, ids in groups if ids]
        if not groups:
            groups = [(0.0, 0.0, [c for c in members.values() if c.active])]
        return groups

    def candidates_for(self, request: RequestContext) -> list[Candidate]:
        """Every candidate of candidate_groups(), flat."""
        return [c for _, _, members in self.candidate_groups(request) for c in members]

    def context(self, doc: dict) -> RequestContext:
        """A request document as a scoring context in this community (time zone, grid graph, requester)."""
        requester = self.members.get(doc.get("requester_id"))
        return RequestContext.from_doc(doc, neighbours=self.neighbours, timezone_name=self.timezone,
                                       vulnerable_requester=bool(requester and requester.vulnerable))

    def put_request(self, doc: dict) -> None:
        """Insert, replace or (once no longer open) drop a request."""
        rid = doc["_id"]
        old = self.requests.pop(rid, None)
        self.request_docs.pop(rid, None)
        if old is not None:
            self.requests_by_category.get(old.category, set()).discard(rid)
            self.requests_by_grid.get(old.grid_id, set()).discard(rid)
        if doc.get("state") != OPEN or doc.get("kind", "request") != "request" or "window_end" not in doc:
            return
        ctx = self.context(doc)
        self.request_docs[rid], self.requests[rid] = doc, ctx
        self.requests_by_category.setdefault(ctx.category, set()).add(rid)
        self.requests_by_grid.setdefault(ctx.grid_id, set()).add(rid)

    def recontext(self) -> None:
        """Rebuild every request context (the grid graph or the time zone changed)."""
        for doc in list(self.request_docs.values()):
            self.put_request(doc)

    def open_requests_for(self, member: Candidate, now: float) -> list[RequestContext]:
        """Open requests (window not passed, not the member's own) in the member's categories or near them."""
        categories = set(member.skills) | {cat for _, cat, end in member.offers if end > now}
        ids: set = set()
        for category in categories:
            ids |= self.requests_by_category.get(category, set())
        if member.grid_id:
            for grid in (member.grid_id, *self.neighbours.get(member.grid_id, ())):
                ids |= self.requests_by_grid.get(grid, set())
        if not categories and not member.grid_id:
            ids = set(self.requests)
        out = []
        for rid in ids:
            ctx = self.requests[rid]
            if ctx.window_end_ts <= now or ctx.requester_id == member.member_id:
                continue
            requester = self.members.get(ctx.requester_id)
            vulnerable = bool(requester and requester.vulnerable)
            if vulnerable != ctx.vulnerable_requester:  # the requester's profile changed since
                ctx = dataclasses.replace(ctx, vulnerable_requester=vulnerable)
            out.append(ctx)
        return out


class CandidateIndex:
    """Per-process cache of community views (least recently used ones are dropped)."""

    def __init__(self, db, policy: Policy | None = None, max_communities: int = 64):
        self.db = db
        self.policy = policy
        self.max_communities = max_communities
        self._views: OrderedDict[str, CommunityView] = OrderedDict()
        self._lock = threading.RLock()

    @contextmanager
    def view(self, community_id: str):
        """The community's view, brought up to date; held under a lock while the caller scores."""
        with self._lock:
            yield self._refresh(community_id)

    def _refresh(self, community_id: str) -> CommunityView:
        head = self.db[repository.COMMUNITIES].find_one({"_id": community_id})
        if head is None:
            return CommunityView(community_id, gen="")  # nothing known about this community yet
        view = self._views.get(community_id)
        full = view is None or view.gen != head.get("gen")
        if full:
            # First use in this process, or the read model was rebuilt: load everything once.
            view = CommunityView(community_id, head.get("gen"), self.policy)
            members = repository.members_of(self.db, community_id)
            requests = repository.requests_of(self.db, community_id, now=utcnow())
        elif head.get("seq", 0) > view.seq:
            members = repository.members_of(self.db, community_id, since_rev=view.seq)
            requests = repository.requests_of(self.db, community_id, since_rev=view.seq)
        else:
            members = requests = ()
        recontext = False
        if view.grids_rev != head.get("grids_rev"):
            view.neighbours = {g: frozenset(n) for g, n in repository.grids_of(self.db, community_id).items()}
            view.grids_rev = head.get("grids_rev")
            recontext = True
        if view.timezone != (head.get("timezone") or DEFAULT_TIMEZONE):
            view.timezone = head.get("timezone") or DEFAULT_TIMEZONE
            recontext = True
        for doc in members:
            view.put(Candidate.from_doc(doc))
        if recontext and not full:
            view.recontext()
        for doc in requests:
            view.put_request(doc)
        # Documents changed after `head` was read may already be in; they are fetched again next time.
        view.seq = head.get("seq", 0)
        self._views[community_id] = view
        self._views.move_to_end(community_id)
        while len(self._views) > self.max_communities:
            self._views.popitem(last=False)
        return view
