"""Read-side queries: suggestions for a request, suggested requests for a member."""
from __future__ import annotations

from datetime import datetime

from shared.auth import STAFF_ROLES, Principal
from shared.errors import Forbidden, NotFound
from services.matching import repository, scoring
from services.matching.cache import CandidateIndex
from services.matching.model import Policy, RequestContext, ensure_open


def helpers_for(view, doc: dict, policy: Policy, now: datetime, limit: int) -> tuple[RequestContext, list, int]:
    """Context, the top `limit` explained suggestions and how many candidates were scored."""
    ctx = view.context(doc)
    groups = view.candidate_groups(ctx)
    ts = now.timestamp()
    top = scoring.rank_groups(ctx, groups, policy, ts, limit)
    members = view.members
    return ctx, [scoring.explain(ctx, members[s.member_id], s, policy, ts) for s in top], \
        sum(len(g[2]) for g in groups)


def suggestions_for_request(db, index: CandidateIndex, policy: Policy, principal: Principal, request_id: str,
                            limit: int, now: datetime) -> dict:
    """Top helpers for an open request: for its requester and the staff of its community."""
    doc = repository.get_request(db, request_id)
    # Another community's request is not theirs to know of: the same 404 as the requests service answers.
    if doc is None or doc.get("kind", "request") != "request" or principal.community_id != doc["community_id"]:
        raise NotFound("没有这条求助（可能尚未同步到匹配服务）。 "
                       "No such request (it may not have reached matching yet).", code="request_not_found")
    if principal.member_id != doc.get("requester_id") and not principal.has_role(*STAFF_ROLES):
        raise Forbidden("只有求助人或社区工作人员可以查看推荐人选。 "
                        "Only the requester or community staff can see who is suggested.", code="not_requester")
    ensure_open(doc)
    with index.view(doc["community_id"]) as view:
        ctx, items, considered = helpers_for(view, doc, policy, now, limit)
    return {"request_id": request_id, "community_id": doc["community_id"], "state": doc["state"],
            "category": ctx.category, "grid_id": ctx.grid_id, "urgency": ctx.urgency,
            "vulnerable_requester": ctx.vulnerable_requester,
            "priority": round(scoring.priority(ctx.urgency, ctx.vulnerable_requester), 4),
            "candidates_considered": considered, "suggestions": items, "generated_at": now}


def requests_for_member(index: CandidateIndex, policy: Policy, principal: Principal, member_id: str,
                        limit: int, now: datetime) -> dict:
    """Open requests this member fits best, urgent and vulnerable requesters first (the member only)."""
    if principal.member_id != member_id:
        raise Forbidden("您只能查看推荐给自己的求助。 You can only see your own suggested requests.", code="not_yours")
    community_id = principal.community_id
    ts = now.timestamp()
    with index.view(community_id) as view:
        member = view.members.get(member_id)
        if member is None or member.community_id != community_id:
            raise NotFound("匹配服务还不认识这位成员。 This member is not known to matching yet.", code="member_not_found")
        at_limit = member.open_commitments >= policy.commitment_limit
        items = []
        if member.active and not at_limit:
            contexts = view.open_requests_for(member, ts)
            for ctx, s, rank in scoring.rank_requests(member, contexts, policy, ts, limit):
                explained = scoring.explain(ctx, member, s, policy, ts)
                items.append({"request_id": ctx.request_id, "category": ctx.category, "unit": ctx.unit,
                              "grid_id": ctx.grid_id, "urgency": ctx.urgency, "window_start": ctx.window_start,
                              "window_end": ctx.window_end, "estimated_minutes": ctx.estimated_minutes,
                              "vulnerable_requester": ctx.vulnerable_requester,
                              "priority": round(scoring.priority(ctx.urgency, ctx.vulnerable_requester), 4),
                              "score": explained["score"], "rank_score": round(rank, 4),
                              "components": explained["components"], "weights": explained["weights"],
                              "reasons": explained["reasons"]})
    return {"member_id": member_id, "community_id": community_id, "open_commitments": member.open_commitments,
            "commitment_limit": policy.commitment_limit, "at_commitment_limit": at_limit, "items": items,
            "generated_at": now}
