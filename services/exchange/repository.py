"""MongoDB storage of the exchange service (always inside a unit of work)."""
from __future__ import annotations

from dataclasses import asdict, fields

from shared.errors import NotFound
from shared.uow import Tx
from services.exchange.cctransfer import from_doc, to_doc
from services.exchange.federation import TrunkwardNode
from services.exchange.model import Position, TrustLine

LINES, COMMUNITIES, AGREEMENTS, ENTRIES, CLEARINGS, NODES = (
    "trust_lines", "communities", "agreements", "position_entries", "clearings", "cc_nodes")


def line_from_doc(doc: dict) -> TrustLine:
    """A TrustLine from its stored document."""
    values = {k: v for k, v in doc.items() if k not in ("_id", "position")}
    return TrustLine(**values, position=Position(**doc.get("position") or {}))


def line_to_doc(line: TrustLine) -> dict:
    """The stored document of a trust line."""
    return {"_id": line.trust_line_id, **asdict(line)}


class ExchangeRepository:
    """Loads and saves trust lines, the communities' point values, agreements, entries and clearings."""

    def __init__(self, tx: Tx):
        self.tx = tx

    def line(self, trust_line_id: str) -> TrustLine:
        """A trust line, or 404."""
        doc = self.tx[LINES].find_one({"_id": trust_line_id})
        if doc is None:
            raise NotFound(f"没有这条互信额度。 No trust line {trust_line_id}.", code="unknown_trust_line")
        return line_from_doc(doc)

    def find_line(self, trust_line_id: str) -> TrustLine | None:
        """A trust line, or None."""
        doc = self.tx[LINES].find_one({"_id": trust_line_id})
        return line_from_doc(doc) if doc else None

    def lines_of_agreement(self, agreement_id: str) -> list[TrustLine]:
        """Every trust line an agreement opened."""
        return [line_from_doc(d) for d in self.tx[LINES].find({"agreement_id": agreement_id}).sort("_id", 1)]

    def open_lines_of(self, community_id: str) -> list[TrustLine]:
        """The lines of a community that are not closed (their rates follow its point value)."""
        query = {"status": {"$ne": "closed"}, "$or": [{"community_a": community_id}, {"community_b": community_id}]}
        return [line_from_doc(d) for d in self.tx[LINES].find(query).sort("_id", 1)]

    def save_line(self, line: TrustLine) -> None:
        """Insert or replace a trust line."""
        self.tx[LINES].replace_one({"_id": line.trust_line_id}, line_to_doc(line), upsert=True)

    def point_values(self, *community_ids: str) -> dict[str, int | None]:
        """The declared fen value of a point of each community heard of so far."""
        docs = self.tx[COMMUNITIES].find({"_id": {"$in": list(community_ids)}})
        return {d["_id"]: d.get("point_value_fen") for d in docs}

    def save_community(self, community_id: str, facts: dict) -> None:
        """Keep a community's code, name and point value."""
        self.tx[COMMUNITIES].update_one({"_id": community_id}, {"$set": facts}, upsert=True)

    def save_agreement(self, payload: dict) -> None:
        """Keep the latest facts of a partner agreement."""
        self.tx[AGREEMENTS].replace_one({"_id": payload["agreement_id"]}, {"_id": payload["agreement_id"], **payload},
                                        upsert=True)

    def has_entry(self, transfer_id: str) -> bool:
        """Whether a cross transfer was already counted."""
        return self.tx[ENTRIES].find_one({"_id": transfer_id}, projection={"_id": 1}) is not None

    def add_entry(self, entry: dict) -> None:
        """Record one counted cross transfer (a line of the next clearing's export)."""
        self.tx[ENTRIES].insert_one({"_id": entry["transfer_id"], **entry})

    def add_clearing(self, record: dict) -> None:
        """Store a clearing record and attach the entries it netted."""
        self.tx[CLEARINGS].insert_one({"_id": record["clearing_id"], **record})
        self.tx[ENTRIES].update_many({"trust_line_id": record["trust_line_id"], "clearing_id": None},
                                     {"$set": {"clearing_id": record["clearing_id"]}})


_NODE_FIELDS = {f.name for f in fields(TrunkwardNode)}


def node_from_doc(doc: dict | None) -> TrunkwardNode | None:
    """A trunkward graft from its stored document."""
    return TrunkwardNode(**{k: v for k, v in doc.items() if k in _NODE_FIELDS}) if doc else None


def node_id(unit: str) -> str:
    """The id of the graft of one unit (at most one trunkward node per unit)."""
    return f"trunkward:{unit}"


class NodeRepository:
    """This deployment's grafts onto trunkward nodes (collection `cc_nodes`)."""

    def __init__(self, tx: Tx):
        self.tx = tx

    def trunkward(self, unit: str) -> TrunkwardNode | None:
        """The graft of a unit, or None."""
        return node_from_doc(self.tx[NODES].find_one({"_id": node_id(unit)}))

    def add(self, node: TrunkwardNode) -> None:
        """Store a new graft (a second one for the unit is a duplicate key)."""
        self.tx[NODES].insert_one({"_id": node.node_id, **asdict(node)})


class CcRepository(NodeRepository):
    """The neighbours, the transfers shared with them (`cc_transfers`) and the residents' public handles
    (`cc_members`, from community.events) that addresses name."""

    TRANSFERS, MEMBERS = "cc_transfers", "cc_members"

    def neighbours(self, unit: str) -> list[TrunkwardNode]:
        """Every neighbour of a unit: the trunkward one first, then the leafward ones by name."""
        docs = self.tx[NODES].find({"unit": unit}).sort("_id", -1)
        return [node_from_doc(d) for d in docs]

    def node(self, neighbour_id: str) -> TrunkwardNode:
        """One neighbour (it exists: transfers name only grafted ones)."""
        return node_from_doc(self.tx[NODES].find_one({"_id": neighbour_id}))

    def save_node(self, node: TrunkwardNode) -> TrunkwardNode:
        """Replace a neighbour's stored state (head of the chain, positions)."""
        self.tx[NODES].replace_one({"_id": node.node_id}, {"_id": node.node_id, **asdict(node)})
        return node

    def transfer(self, transfer_id: str):
        """A transfer shared with a neighbour, or None."""
        doc = self.tx[self.TRANSFERS].find_one({"_id": transfer_id})
        return from_doc(doc) if doc else None

    def save_transfer(self, t):
        """Insert or replace a transfer."""
        doc = to_doc(t)
        self.tx[self.TRANSFERS].replace_one({"_id": doc["_id"]}, doc, upsert=True)
        return t

    def busy(self, neighbour_id: str, now) -> bool:
        """Whether this node has a request in flight to the neighbour (its lease in `cc_locks` is held)."""
        return self.tx["cc_locks"].find_one({"_id": neighbour_id, "owner": {"$ne": None}, "until": {"$gt": now}},
                                            {"_id": 1}) is not None

    def community_code(self, community_id: str) -> str | None:
        """A community's code (addresses use it)."""
        doc = self.tx[COMMUNITIES].find_one({"_id": community_id}, {"code": 1})
        return doc.get("code") if doc else None

    def handle_of(self, community_id: str, member_id: str) -> str | None:
        """A member's public handle."""
        doc = self.tx[self.MEMBERS].find_one({"_id": f"{community_id}:{member_id}"})
        return doc.get("handle") if doc else None

    def member_at(self, community_code: str, handle: str) -> dict | None:
        """The active member a local address names (`<community code>/<handle>`), or None."""
        community = self.tx[COMMUNITIES].find_one({"code": community_code}, {"_id": 1})
        if community is None:
            return None
        return self.tx[self.MEMBERS].find_one({"community_id": community["_id"], "handle": handle.lower(),
                                               "status": "active"})

    def save_member(self, community_id: str, member_id: str, handle: str | None, status: str) -> None:
        """Keep a member's handle and status."""
        self.tx[self.MEMBERS].update_one({"_id": f"{community_id}:{member_id}"}, {"$set": {
            "community_id": community_id, "member_id": member_id, "handle": handle, "status": status}}, upsert=True)
