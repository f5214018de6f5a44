"""MongoDB storage of communities, grids and members (always inside a unit of work)."""
from __future__ import annotations

from dataclasses import asdict, fields

from shared.errors import NotFound
from shared.uow import Tx
from services.community.model import Member
from services.community.partners import PartnerAgreement
from services.community.rulesets import RuleVersion, defaults_version, unknown_version

_MEMBER_FIELDS = {f.name for f in fields(Member)}


class CommunityRepository:
    """Reads and writes the community service's collections through one transaction."""

    def __init__(self, tx: Tx):
        self.tx = tx

    def community(self, community_id: str) -> dict:
        """A community by id, or 404."""
        doc = self.tx["communities"].find_one({"_id": community_id})
        if doc is None:
            raise NotFound(f"没有这个社区（{community_id}）。 No community {community_id}.", code="unknown_community")
        return doc

    def community_by_code(self, code: str) -> dict | None:
        """A community by its short code."""
        return self.tx["communities"].find_one({"code": code})

    def add_community(self, community: dict) -> None:
        """Store a new community."""
        self.tx["communities"].insert_one({"_id": community["community_id"], **community})

    def save_community(self, community: dict) -> None:
        """Replace a community document."""
        self.tx["communities"].replace_one({"_id": community["community_id"]}, community)

    def grids(self, community_id: str) -> list[dict]:
        """The community's grids."""
        return list(self.tx["grids"].find({"community_id": community_id}))

    def add_grid(self, grid: dict) -> None:
        """Store a new grid."""
        self.tx["grids"].insert_one({"_id": grid["grid_id"], **grid})

    def member(self, community_id: str, member_id: str) -> Member:
        """A member of the community, or 404."""
        doc = self.tx["members"].find_one({"_id": member_id, "community_id": community_id})
        if doc is None:
            raise NotFound(f"本社区没有这位成员（{member_id}）。 No member {member_id} in this community.", code="unknown_member")
        return _to_member(doc)

    def member_by_phone(self, community_id: str, phone: str) -> Member | None:
        """A member by phone number within one community."""
        doc = self.tx["members"].find_one({"community_id": community_id, "phone": phone})
        return _to_member(doc) if doc else None

    def member_by_handle(self, community_id: str, handle: str) -> Member | None:
        """A member by public handle within one community."""
        doc = self.tx["members"].find_one({"community_id": community_id, "handle": handle})
        return _to_member(doc) if doc else None

    def member_ids_by_phone(self, community_id: str, phones: list[str]) -> dict[str, str]:
        """phone -> member id of the community's members with these phone numbers."""
        found = self.tx["members"].find({"community_id": community_id, "phone": {"$in": list(phones)}},
                                        {"phone": 1})
        return {doc["phone"]: doc["_id"] for doc in found}

    def add_members(self, members: list[Member]) -> None:
        """Store new members (one round trip)."""
        if members:
            self.tx["members"].insert_many([{"_id": m.member_id, **asdict(m)} for m in members])

    def add_member(self, member: Member) -> None:
        """Store a new member."""
        self.tx["members"].insert_one({"_id": member.member_id, **asdict(member)})

    def save_member(self, member: Member) -> None:
        """Replace a member document."""
        self.tx["members"].replace_one({"_id": member.member_id}, {"_id": member.member_id, **asdict(member)})


def _to_member(doc: dict) -> Member:
    return Member(**{k: v for k, v in doc.items() if k in _MEMBER_FIELDS})


class PartnerRepository:
    """Partner agreements (collection `partner_agreements`) through one transaction."""

    def __init__(self, tx: Tx):
        self.tx = tx

    def get(self, agreement_id: str):
        """An agreement by id, or 404."""
        doc = self.tx["partner_agreements"].find_one({"_id": agreement_id})
        if doc is None:
            raise NotFound(f"没有这个互认协议。 No partner agreement {agreement_id}.", code="unknown_agreement")
        return PartnerAgreement(**{k: v for k, v in doc.items() if k not in ("_id", "pair", "live_pair")})

    def live_for_pair(self, pair: str) -> dict | None:
        """The proposed, active or suspended agreement of a pair of communities, if any."""
        return self.tx["partner_agreements"].find_one({"live_pair": pair})

    def save(self, agreement) -> None:
        """Insert or replace; `live_pair` (unique) is set only while the agreement is live."""
        doc = {"_id": agreement.agreement_id, **asdict(agreement), "pair": agreement.pair}
        if agreement.live:
            doc["live_pair"] = agreement.pair
        self.tx["partner_agreements"].replace_one({"_id": agreement.agreement_id}, doc, upsert=True)


class PointsRulesRepository:
    """Versions of communities' points rules (collection `points_rules`, one document per version)."""

    def __init__(self, tx: Tx):
        self.tx = tx

    def latest(self, community: dict) -> RuleVersion:
        """The community's last version, or version 0 (the defaults) when it has none."""
        doc = self.tx["points_rules"].find_one({"community_id": community["community_id"]}, sort=[("version", -1)])
        return to_rule_version(doc) if doc else defaults_version(community["community_id"], community["created_at"])

    def find(self, community: dict, version: int) -> RuleVersion | None:
        """One version (0: the defaults), or None."""
        if version == 0:
            return defaults_version(community["community_id"], community["created_at"])
        doc = self.tx["points_rules"].find_one({"_id": rule_version_id(community["community_id"], version)})
        return to_rule_version(doc) if doc else None

    def get(self, community: dict, version: int) -> RuleVersion:
        """One version (0: the defaults), or 404."""
        found = self.find(community, version)
        if found is None:
            raise unknown_version(version)
        return found

    def add(self, version: RuleVersion) -> None:
        """Store a new version (a duplicate number, from a concurrent publish, is a DuplicateKeyError)."""
        self.tx["points_rules"].insert_one(_rule_version_doc(version))

    def all(self, community: dict) -> list[RuleVersion]:
        """Every version, version 0 (the defaults) first."""
        stored = self.tx["points_rules"].find({"community_id": community["community_id"]}, sort=[("version", 1)])
        return [defaults_version(community["community_id"], community["created_at"]),
                *(to_rule_version(d) for d in stored)]

    def replace(self, version: RuleVersion) -> None:
        """Replace a pending version."""
        self.tx["points_rules"].replace_one({"_id": rule_version_id(version.community_id, version.version)},
                                            _rule_version_doc(version))


def rule_version_id(community_id: str, version: int) -> str:
    return f"{community_id}:{version}"


def _rule_version_doc(version: RuleVersion) -> dict:
    return {"_id": rule_version_id(version.community_id, version.version), **asdict(version)}


def to_rule_version(doc: dict) -> RuleVersion:
    return RuleVersion(**{k: v for k, v in doc.items() if k != "_id"})


class SimulationRepository:
    """Rules simulation jobs (collection `simulations`, one document per job; the scheduler runs them)."""

    def __init__(self, tx: Tx):
        self.tx = tx

    def add(self, job: dict) -> None:
        self.tx["simulations"].insert_one(job)
