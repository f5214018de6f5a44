"""Read-side queries of the exchange service (no unit of work needed)."""
from __future__ import annotations

from shared.errors import NotFound
from services.exchange.ccflow import address_of, member_unknown
from services.exchange.federation import UNITS
from services.exchange.model import add_period
from services.exchange.repository import (CLEARINGS, COMMUNITIES, ENTRIES, LINES, NODES, CcRepository,
                                          line_from_doc)


def _mine(community_id: str) -> dict:
    return {"$or": [{"community_a": community_id}, {"community_b": community_id}]}


def _communities(db, ids) -> dict:
    return {d["_id"]: {"community_id": d["_id"], "code": d.get("code"), "name": d.get("name"),
                       "point_value_fen": d.get("point_value_fen")}
            for d in db[COMMUNITIES].find({"_id": {"$in": sorted(set(ids))}})}


def _present(doc: dict, known: dict) -> dict:
    line = line_from_doc(doc)
    start = line.last_cleared_at or line.position.since
    return {**doc, "community_a": known.get(line.community_a, {"community_id": line.community_a}),
            "community_b": known.get(line.community_b, {"community_id": line.community_b}),
            "measure": line.measure_name, "headroom": line.headroom(),
            "rate": {"basis": "1:1" if line.unit == "HOUR" else "point_value_fen", "version": line.rate_version,
                     "a_point_value_fen": line.a_point_value_fen, "b_point_value_fen": line.b_point_value_fen},
            "next_clearing_at": add_period(start, line.clearing_period) if start and line.position.transfers else None}


def trust_lines(db, community_id: str, status: str | None = None) -> list[dict]:
    """The trust lines of a community with their partners, rates, positions and headroom."""
    query = _mine(community_id)
    if status:
        query["status"] = status
    docs = list(db[LINES].find(query).sort("opened_at", -1).limit(500))
    known = _communities(db, [d[k] for d in docs for k in ("community_a", "community_b")])
    return [_present(d, known) for d in docs]


def trust_line_doc(db, community_id: str, trust_line_id: str) -> dict:
    """One trust line of the community as stored (404 for anyone else's)."""
    doc = db[LINES].find_one({"_id": trust_line_id, **_mine(community_id)})
    if doc is None:
        raise NotFound(f"没有这条互信额度。 No trust line {trust_line_id}.", code="unknown_trust_line")
    return doc


def trust_line(db, community_id: str, trust_line_id: str) -> dict:
    """One trust line of the community, presented."""
    doc = trust_line_doc(db, community_id, trust_line_id)
    return _present(doc, _communities(db, [doc["community_a"], doc["community_b"]]))


def clearings(db, community_id: str, trust_line_id: str | None, limit: int) -> list[dict]:
    """The clearing records of a community, newest first."""
    query = _mine(community_id)
    if trust_line_id:
        query["trust_line_id"] = trust_line_id
    return list(db[CLEARINGS].find(query).sort("cleared_at", -1).limit(limit))


def clearing(db, community_id: str, clearing_id: str) -> dict:
    """One clearing record of the community (404 for anyone else's)."""
    doc = db[CLEARINGS].find_one({"_id": clearing_id, **_mine(community_id)})
    if doc is None:
        raise NotFound(f"没有这次清算。 No clearing {clearing_id}.", code="unknown_clearing")
    return doc


def clearing_entries(db, clearing_id: str) -> list[dict]:
    """The cross transfers a clearing netted, oldest first."""
    return list(db[ENTRIES].find({"clearing_id": clearing_id}).sort([("posted_at", 1), ("_id", 1)]))


def names(db, *community_ids: str) -> dict:
    """Community id → name (or code, or id) for exports."""
    known = _communities(db, community_ids)
    return {cid: (known.get(cid) or {}).get("name") or (known.get(cid) or {}).get("code") or cid
            for cid in community_ids}


def my_addresses(db, community_id: str, member_id: str) -> list[dict]:
    """A resident's Credit Commons address in each grafted unit (`<our node path>/<community code>/<handle>`), the
    one residents of other deployments pay; [] when no unit of this deployment is grafted. 422 cc_member_unknown
    while the exchange has not yet heard the member's public handle (or the community's code)."""
    paths = {}
    for doc in db[NODES].find({"unit": {"$in": list(UNITS)}}, {"unit": 1, "our_node_path": 1}).sort("_id", -1):
        paths.setdefault(doc["unit"], doc["our_node_path"])  # every graft of a unit names the same own path
    if not paths:
        return []
    community = db[COMMUNITIES].find_one({"_id": community_id}, {"code": 1}) or {}
    member = db[CcRepository.MEMBERS].find_one({"_id": f"{community_id}:{member_id}"}, {"handle": 1}) or {}
    code, handle = community.get("code"), member.get("handle")
    if not code or not handle:
        raise member_unknown()
    return [{"unit": unit, "address": address_of(paths[unit], code, handle), "node_path": paths[unit],
             "community_code": code, "handle": handle} for unit in UNITS if unit in paths]
