"""Read-side queries of the community service (no unit of work needed)."""
from __future__ import annotations

import re

from shared.errors import NotFound
from services.community.model import HANDLE, derive_handle
from services.community.partners import check_partner_lookup, pair_key
from services.community.repository import to_rule_version
from services.community.rulesets import RuleVersion, defaults_version, unknown_version
from shared.economy import diff, in_effect
from services.community import simulations


def community(db, community_id: str) -> dict:
    """A community document, or 404."""
    doc = db.communities.find_one({"_id": community_id})
    if doc is None:
        raise NotFound(f"没有这个社区（{community_id}）。 No community {community_id}.", code="unknown_community")
    return doc


def grids(db, community_id: str) -> list[dict]:
    """The community's grids by name."""
    community(db, community_id)
    return list(db.grids.find({"community_id": community_id}).sort("name", 1))


def members(db, community_id: str, limit: int, offset: int) -> tuple[list[dict], int]:
    """A page of members, oldest first, and the total."""
    query = {"community_id": community_id}
    items = list(db.members.find(query, {"secret_hash": 0}).sort("joined_at", 1).skip(offset).limit(limit))
    return items, db.members.count_documents(query)


def member(db, community_id: str, member_id: str) -> dict:
    """One member document without the secret, or 404."""
    doc = db.members.find_one({"_id": member_id, "community_id": community_id}, {"secret_hash": 0})
    if doc is None:
        raise NotFound(f"本社区没有这位成员（{member_id}）。 No member {member_id} in this community.", code="unknown_member")
    return doc


# -- the member directory: people, not ids (names and grids within one's own community, never phones) --
DIRECTORY_FIELDS = {"display_name": 1, "grid_id": 1, "handle": 1, "roles": 1, "status": 1, "merchant_id": 1}


def _directory_entries(db, community_id: str, docs: list[dict]) -> list[dict]:
    grid_names = {g["_id"]: g["name"] for g in db.grids.find({"community_id": community_id}, {"name": 1})}
    return [{"member_id": d["_id"], "display_name": d["display_name"], "grid_id": d.get("grid_id"),
             "grid_name": grid_names.get(d.get("grid_id")), "handle": d.get("handle") or derive_handle(d["_id"]),
             "roles": d.get("roles", []), "active": d.get("status") == "active", "merchant_id": d.get("merchant_id")}
            for d in docs]


def directory_by_ids(db, community_id: str, member_ids: list[str]) -> list[dict]:
    """The members among `member_ids` who belong to `community_id`, in the order asked (others are absent)."""
    wanted = list(dict.fromkeys(member_ids))
    found = {d["_id"]: d for d in db.members.find({"community_id": community_id, "_id": {"$in": wanted}},
                                                   DIRECTORY_FIELDS)}
    return _directory_entries(db, community_id, [found[i] for i in wanted if i in found])


def directory_search(db, community_id: str, q: str, limit: int) -> list[dict]:
    """Active members whose display name contains `q` or whose handle starts with it, by name."""
    fragment = re.escape(q.strip())
    query = {"community_id": community_id, "status": "active",
             "$or": [{"display_name": {"$regex": fragment, "$options": "i"}},
                     {"handle": {"$regex": "^" + fragment.lower()}}]}
    docs = list(db.members.find(query, DIRECTORY_FIELDS).sort([("display_name", 1), ("_id", 1)]).limit(limit))
    return _directory_entries(db, community_id, docs)


def _with_communities(db, docs: list[dict]) -> list[dict]:
    ids = {d[k] for d in docs for k in ("proposer_id", "partner_id")}
    known = {c["_id"]: {"community_id": c["_id"], "code": c["code"], "name": c["name"],
                        "point_value_fen": c.get("point_value_fen")}
             for c in db.communities.find({"_id": {"$in": sorted(ids)}})}
    return [{**d, "proposer": known.get(d["proposer_id"]), "partner": known.get(d["partner_id"])} for d in docs]


def partner_agreements(db, community_id: str, direction: str = "all", state: str | None = None) -> list[dict]:
    """The agreements of a community, newest change first: incoming = proposed to it, outgoing = by it."""
    sides = {"incoming": [{"partner_id": community_id}], "outgoing": [{"proposer_id": community_id}],
             "all": [{"partner_id": community_id}, {"proposer_id": community_id}]}[direction]
    query: dict = {"$or": sides}
    if state:
        query["state"] = state
    return _with_communities(db, list(db.partner_agreements.find(query).sort("updated_at", -1).limit(500)))


def partner_agreement(db, community_id: str, agreement_id: str) -> dict:
    """One agreement of the community (404 for anyone else's)."""
    doc = db.partner_agreements.find_one({"_id": agreement_id,
                                          "$or": [{"partner_id": community_id}, {"proposer_id": community_id}]})
    if doc is None:
        raise NotFound(f"没有这个互认协议。 No partner agreement {agreement_id}.", code="unknown_agreement")
    return _with_communities(db, [doc])[0]



def partner_member(db, community_id: str, partner_code: str, handle: str) -> dict:
    """An active member of a partner community found by its code and their public handle: display name, grid
    name and handle (and the ids a payment names), nothing else; only while the two communities have an
    active agreement."""
    partner = db.communities.find_one({"code": partner_code.strip().lower()}, {"code": 1, "name": 1})
    partner_id = partner["_id"] if partner else None
    agreement = db.partner_agreements.find_one({"live_pair": pair_key(community_id, partner_id)},
                                               {"state": 1}) if partner else None
    check_partner_lookup(community_id, partner_id, agreement["state"] if agreement else None)
    wanted = handle.strip().lower()
    doc = db.members.find_one({"community_id": partner_id, "handle": wanted, "status": "active"},
                              DIRECTORY_FIELDS) if HANDLE.match(wanted) else None
    if doc is None:
        raise NotFound(f"该社区没有这个公开账号。 Nobody in {partner['name']} has this handle.",
                       code="unknown_handle")
    entry = _directory_entries(db, partner_id, [doc])[0]
    return {"member_id": entry["member_id"], "display_name": entry["display_name"],
            "grid_name": entry["grid_name"], "handle": entry["handle"],
            "community": {"community_id": partner_id, "code": partner["code"], "name": partner["name"]}}


# -- points rules versions ---------------------------------------------------------------------------
def rule_versions(db, community_id: str) -> list[RuleVersion]:
    """Every version of the community's points rules, version 0 (the SPEC defaults) first."""
    created = community(db, community_id)["created_at"]
    stored = [to_rule_version(d) for d in db.points_rules.find({"community_id": community_id}).sort("version", 1)]
    return [defaults_version(community_id, created), *stored]


def _described(versions: list[RuleVersion], now) -> list[dict]:
    """Each version with its status: pending (not yet in effect), current (in effect now) or superseded."""
    current = in_effect([v.rule_set() for v in versions], now).version

    def status(v: RuleVersion) -> str:
        return "current" if v.version == current else "pending" if v.effective_from > now else "superseded"
    return [{**vars(v), "status": status(v)} for v in versions]


def rule_version_list(db, community_id: str, now) -> list[dict]:
    """The versions, oldest first, without their documents."""
    return [{k: v for k, v in d.items() if k != "rules"} for d in _described(rule_versions(db, community_id), now)]


def rule_version(db, community_id: str, version: int | None, now) -> dict:
    """One version (None: the one in effect at `now`), or 404."""
    described = _described(rule_versions(db, community_id), now)
    if version is None:
        return next(d for d in described if d["status"] == "current")
    found = [d for d in described if d["version"] == version]
    if not found:
        raise unknown_version(version)
    return found[0]


def rule_version_diff(db, community_id: str, old: int, new: int, now) -> dict:
    """What changed from version `old` to version `new`."""
    a, b = rule_version(db, community_id, old, now), rule_version(db, community_id, new, now)
    return {"from_version": old, "to_version": new, "changes": diff(a["rules"], b["rules"])}


def simulation(db, community_id: str, job_id: str) -> dict:
    """A rules simulation job of the community as its admin sees it, or 404."""
    job = db.simulations.find_one({"_id": job_id, "community_id": community_id})
    if job is None:
        raise simulations.unknown_job(job_id)
    return simulations.view(job)
