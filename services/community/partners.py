"""Partner-community agreements (互认协议): one community's admin proposes, the partner's admin accepts.

Pure rules, no I/O. An agreement names the two communities, the units they honour for each other with a
net limit each, the rate basis of each unit and how often net positions are cleared.

    proposed ──accept──> active <──suspend / resume──> suspended
        │  └─decline──> declined          │                │
        └─end (proposer withdraws)──> ended <──end─────────┘

Net limits are whole numbers in the unit's common measure: HOUR in minutes (an hour is an hour in every
community), PT in fen of cash value (两个社区的积分面值可能不同, so a limit on points is stated as what
they are worth: 5,000 fen = 50 yuan)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from shared.errors import Conflict, Forbidden, NotFound, Unprocessable

UNITS = ("HOUR", "PT")
RATE_BASIS = {"HOUR": "1:1", "PT": "point_value_fen"}
LIMIT_MEASURE = {"HOUR": "minutes", "PT": "fen"}
CLEARING_PERIODS = ("daily", "weekly", "monthly")
MAX_NET_LIMIT = 10**12
LIVE = ("proposed", "active", "suspended")
STATES = LIVE + ("declined", "ended")

# action -> (states it may start from, state it leads to, who may take it)
TRANSITIONS = {
    "accept": (("proposed",), "active", "partner"),
    "decline": (("proposed",), "declined", "partner"),
    "suspend": (("active",), "suspended", "either"),
    "resume": (("suspended",), "active", "suspender"),
    "end": (("active", "suspended"), "ended", "either"),
}
EVENT_TYPES = {"propose": "PartnerAgreementProposed", "accept": "PartnerAgreementAccepted",
               "decline": "PartnerAgreementDeclined", "suspend": "PartnerAgreementSuspended",
               "resume": "PartnerAgreementResumed", "end": "PartnerAgreementEnded"}


def pair_key(community_a: str, community_b: str) -> str:
    """The same key for (A, B) and (B, A): at most one live agreement per pair."""
    return "|".join(sorted((community_a, community_b)))


def check_terms(units: list[dict], point_values: dict[str, int]) -> list[dict]:
    """Validated, normalised unit terms: each unit once, a positive net limit, its rate basis.

    `point_values` maps both community ids to their declared fen value of a point (PT needs both)."""
    if not units:
        raise Unprocessable("请至少选择一种互认单位（HOUR 工时或 PT 积分）。 Name at least one unit the communities honour (HOUR or PT).",
                            code="no_units")
    seen, terms = set(), []
    for term in units:
        unit = term.get("unit")
        if unit not in UNITS:
            raise Unprocessable(f"未知单位 {unit!r}，请用 HOUR 或 PT。 Unknown unit {unit!r}; use HOUR or PT.",
                                code="unknown_unit")
        if unit in seen:
            raise Unprocessable(f"单位 {unit} 重复了。 {unit} is listed twice.", code="duplicate_unit")
        seen.add(unit)
        limit = term.get("net_limit")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 < limit <= MAX_NET_LIMIT:
            raise Unprocessable(f"{unit} 的净额上限须为 1 到 {MAX_NET_LIMIT} 的整数。 "
                                f"The net limit of {unit} must be a whole number from 1 to {MAX_NET_LIMIT} "
                                f"({LIMIT_MEASURE[unit]}).", code="bad_net_limit")
        basis = term.get("rate_basis") or RATE_BASIS[unit]
        if basis != RATE_BASIS[unit]:
            raise Unprocessable(f"{unit} 的兑换基准是 {RATE_BASIS[unit]}。 "
                                f"The rate basis of {unit} is {RATE_BASIS[unit]!r}.", code="bad_rate_basis")
        if unit == "PT" and any(not point_values.get(c) for c in point_values):
            raise Unprocessable("双方社区都须设定积分面值，才能互认积分。 "
                                "Both communities must declare the fen value of a point to honour PT.",
                                code="point_value_missing")
        terms.append({"unit": unit, "net_limit": limit, "rate_basis": basis,
                      "limit_measure": LIMIT_MEASURE[unit]})
    return sorted(terms, key=lambda t: UNITS.index(t["unit"]))


@dataclass
class PartnerAgreement:
    """An agreement between a proposing community and its partner."""

    agreement_id: str
    proposer_id: str
    partner_id: str
    units: list[dict]
    clearing_period: str = "monthly"
    state: str = "proposed"
    proposed_at: datetime | None = None
    updated_at: datetime | None = None
    suspended_by: str | None = None
    history: list[dict] = field(default_factory=list)

    @classmethod
    def propose(cls, agreement_id: str, proposer_id: str, partner_id: str, units: list[dict],
                point_values: dict[str, int], clearing_period: str, at: datetime) -> "PartnerAgreement":
        """A new proposal of `proposer_id` to `partner_id` (its terms checked)."""
        if proposer_id == partner_id:
            raise Unprocessable("不能与本社区结成互认。 A community cannot partner with itself.",
                                code="self_partner")
        if clearing_period not in CLEARING_PERIODS:
            raise Unprocessable(f"清算周期无效，须为以下之一：{', '.join(CLEARING_PERIODS)}。 "
                                f"Clearing period must be one of {', '.join(CLEARING_PERIODS)}.",
                                code="bad_clearing_period")
        terms = check_terms(units, {proposer_id: point_values.get(proposer_id),
                                    partner_id: point_values.get(partner_id)})
        return cls(agreement_id, proposer_id, partner_id, terms, clearing_period, "proposed", at, at, None,
                   [{"action": "propose", "by": proposer_id, "at": at}])

    @property
    def pair(self) -> str:
        """The pair key of the two communities."""
        return pair_key(self.proposer_id, self.partner_id)

    @property
    def live(self) -> bool:
        """Proposed, active or suspended: it blocks another agreement between the same pair."""
        return self.state in LIVE

    def other(self, community_id: str) -> str:
        """The other community of the agreement."""
        return self.partner_id if community_id == self.proposer_id else self.proposer_id

    def involves(self, community_id: str) -> bool:
        """Whether `community_id` is one of the two communities."""
        return community_id in (self.proposer_id, self.partner_id)

    def act(self, action: str, by_community: str, at: datetime) -> "PartnerAgreement":
        """The agreement after `by_community`'s admin takes `action` (accept, decline, suspend, resume, end)."""
        if not self.involves(by_community):
            raise Forbidden("只有双方社区管理员可以操作。 "
                            "Only the admins of the two communities may act on this agreement.", code="not_a_party")
        if action == "end" and self.state == "proposed" and by_community == self.proposer_id:
            return self._moved(action, "ended", by_community, at)  # the proposer withdraws its proposal
        if action not in TRANSITIONS:
            raise Unprocessable(f"未知操作 {action!r}。 Unknown action {action!r}.", code="unknown_action")
        sources, target, who = TRANSITIONS[action]
        if self.state not in sources:
            raise Conflict(f"协议当前状态为 {self.state}，不能执行此操作。 "
                           f"An agreement that is {self.state} cannot be {target} (action {action}).",
                           code="bad_state", state=self.state)
        if who == "partner" and by_community != self.partner_id:
            raise Forbidden("只有受邀社区的管理员可以接受或拒绝。 "
                            "Only the invited community's admin may accept or decline.", code="not_the_partner")
        if who == "suspender" and by_community != self.suspended_by:
            raise Forbidden("只有暂停协议的一方可以恢复。 "
                            "Only the community that suspended the agreement may resume it.", code="not_the_suspender")
        return self._moved(action, target, by_community, at)

    def _moved(self, action: str, target: str, by: str, at: datetime) -> "PartnerAgreement":
        return replace(self, state=target, updated_at=at,
                       suspended_by=by if target == "suspended" else None,
                       history=[*self.history, {"action": action, "by": by, "at": at}])

    def event_facts(self, action: str, by_community: str) -> dict:
        """The event payload: the agreement's facts (communities, units, limits, state), no personal data."""
        return {"agreement_id": self.agreement_id, "community_id": by_community, "action": action,
                "proposer_id": self.proposer_id, "partner_id": self.partner_id,
                "units": [dict(t) for t in self.units], "clearing_period": self.clearing_period,
                "state": self.state, "suspended_by": self.suspended_by,
                "at": self.updated_at.isoformat() if self.updated_at else None}


def check_partner_lookup(my_community: str, partner_id: str | None, agreement_state: str | None) -> None:
    """Whether a member of `my_community` may look a member of `partner_id` up by handle: only while the two
    communities have an active agreement (not proposed, suspended or ended), and never by phone number.

    `partner_id` is None when no community has the code; `agreement_state` is the state of the pair's live
    agreement (None when there is none)."""
    if partner_id is None:
        raise NotFound("没有这个社区代码。 No community has this code.", code="unknown_community")
    if partner_id == my_community:
        raise Unprocessable("这是本社区，请在邻居名录中查找。 "
                            "This is your own community: find neighbours in the directory.", code="own_community")
    if agreement_state != "active":
        raise Forbidden("本社区与该社区没有生效的互认协议。 "
                        "Your community has no active partner agreement with this community.", code="not_a_partner")
