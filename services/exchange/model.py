"""Exchange domain (pure): trust lines between partner communities, their rates, net positions and clearing.

A trust line exists per active partner agreement and unit. Community `a` is the agreement's proposer and
`b` its partner. Its net position holds, since the last clearing:

* `a_balance` / `b_balance`: the balance of each community's clearing account for the other, in that
  community's own unit (a payer's side goes up by the debit amount, a payee's side down by the credit amount);
* `net`: the signed common measure (minutes for HOUR, fen for PT, see `shared.crossrate`), positive when
  a's members have paid more into b than they received (a owes b), negative the other way;
* `transfers`: how many cross transfers it counts.

A clearing run nets the position into a record (who owes whom how much) and resets it to zero."""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from shared.crossrate import MEASURE, measure
from shared.errors import Conflict, Forbidden, Unprocessable

LINE_STATUS = {"PartnerAgreementAccepted": "open", "PartnerAgreementResumed": "open",
               "PartnerAgreementSuspended": "suspended", "PartnerAgreementEnded": "closed"}


def trust_line_id(agreement_id: str, unit: str) -> str:
    """The id of an agreement's trust line for one unit."""
    return f"tl:{agreement_id}:{unit}"


def add_period(start: datetime, period: str) -> datetime:
    """The end of a clearing period that began at `start` (daily, weekly, or the same day next month)."""
    if period == "daily":
        return start + timedelta(days=1)
    if period == "weekly":
        return start + timedelta(days=7)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))


@dataclass
class Position:
    """The net position of a trust line since its last clearing."""

    a_balance: int = 0
    b_balance: int = 0
    net: int = 0
    transfers: int = 0
    since: datetime | None = None


@dataclass
class TrustLine:
    """One unit of one partner agreement: limit, status, rate and net position."""

    trust_line_id: str
    agreement_id: str
    unit: str
    community_a: str
    community_b: str
    net_limit: int
    clearing_period: str = "monthly"
    status: str = "open"  # open | suspended | closed
    a_point_value_fen: int | None = None
    b_point_value_fen: int | None = None
    rate_version: int = 0
    position: Position = field(default_factory=Position)
    opened_at: datetime | None = None
    updated_at: datetime | None = None
    last_cleared_at: datetime | None = None

    # -- who ----------------------------------------------------------------------------------------
    def involves(self, community_id: str) -> bool:
        """Whether `community_id` is one of the line's two communities."""
        return community_id in (self.community_a, self.community_b)

    def check_party(self, community_id: str) -> None:
        """Only the admins of the two communities see or clear a line."""
        if not self.involves(community_id):
            raise Forbidden("只有协议双方社区可以查看或清算。 "
                            "Only the two partner communities may see or clear this trust line.", code="not_a_party")

    # -- rates --------------------------------------------------------------------------------------
    @property
    def measure_name(self) -> str:
        """minutes (HOUR) or fen (PT)."""
        return MEASURE[self.unit]

    def point_value(self, community_id: str) -> int | None:
        """The fen value of a point of one of the line's communities, as the line last heard it."""
        return self.a_point_value_fen if community_id == self.community_a else self.b_point_value_fen

    @property
    def rate_known(self) -> bool:
        """HOUR is always 1:1; PT needs both communities' declared point values."""
        return self.unit == "HOUR" or bool(self.a_point_value_fen and self.b_point_value_fen)

    def with_point_values(self, values: dict[str, int | None], at: datetime) -> "TrustLine | None":
        """The line with new point values, its rate version bumped; None when the rate did not change.

        HOUR lines get version 1 once (1:1 for ever)."""
        if self.unit == "HOUR":
            return None if self.rate_version else replace(self, rate_version=1, updated_at=at)
        a = values.get(self.community_a, self.a_point_value_fen)
        b = values.get(self.community_b, self.b_point_value_fen)
        if (a, b) == (self.a_point_value_fen, self.b_point_value_fen) and self.rate_version:
            return None
        changed = replace(self, a_point_value_fen=a, b_point_value_fen=b, updated_at=at)
        return replace(changed, rate_version=self.rate_version + 1) if changed.rate_known else changed

    # -- status -------------------------------------------------------------------------------------
    def with_status(self, status: str, at: datetime) -> "TrustLine | None":
        """The line in a new status (None if unchanged); a closed line never reopens."""
        if status == self.status or self.status == "closed":
            return None
        return replace(self, status=status, updated_at=at)

    # -- positions ----------------------------------------------------------------------------------
    def side(self, community_id: str) -> str:
        """'a' or 'b'."""
        if community_id == self.community_a:
            return "a"
        if community_id == self.community_b:
            return "b"
        raise Unprocessable(f"社区 {community_id} 不是该互信额度的一方。 "
                            f"Community {community_id} is not a party of trust line {self.trust_line_id}.",
                            code="not_a_party")

    def posted(self, payer_community: str, payee_community: str, debit_amount: int, credit_amount: int,
               payee_point_value_fen: int | None, at: datetime) -> "TrustLine":
        """The line after a cross transfer posted in the ledger (payer's side up, payee's side down)."""
        payer, payee = self.side(payer_community), self.side(payee_community)
        if payer == payee:
            raise Unprocessable("跨社区转账须在该额度的两个社区之间进行。 "
                                "A cross transfer goes from one community of the line to the other.",
                                code="same_community")
        if debit_amount <= 0 or credit_amount <= 0:
            raise Unprocessable("跨社区转账金额须为正数。 Cross transfer amounts are positive.", code="bad_amount")
        value = measure(self.unit, credit_amount, payee_point_value_fen)
        p = self.position
        balances = {"a": p.a_balance, "b": p.b_balance}
        balances[payer] += debit_amount
        balances[payee] -= credit_amount
        net = p.net + (value if payer == "a" else -value)
        return replace(self, updated_at=at, position=Position(balances["a"], balances["b"], net, p.transfers + 1,
                                                               p.since or at))

    def headroom(self) -> int:
        """How much more (in the measure) may still go either way before the net limit: limit − |net|."""
        return max(self.net_limit - abs(self.position.net), 0)

    def clearing_due(self, at: datetime) -> bool:
        """Whether the scheduler should clear now: something to clear and its period has passed."""
        start = self.last_cleared_at or self.position.since
        return self.position.transfers > 0 and start is not None and at >= add_period(start, self.clearing_period)

    def cleared(self, clearing_id: str, at: datetime, by: str | None) -> tuple["TrustLine", dict]:
        """The line with its position reset, and the clearing record of what was netted."""
        p = self.position
        if p.transfers == 0:
            raise Conflict("自上次清算以来没有往来，无需清算。 "
                           "Nothing to clear: no cross transfers since the last clearing.",
                           code="nothing_to_clear")
        debtor = self.community_a if p.net > 0 else self.community_b if p.net < 0 else None
        record = {
            "clearing_id": clearing_id, "trust_line_id": self.trust_line_id, "agreement_id": self.agreement_id,
            "unit": self.unit, "community_a": self.community_a, "community_b": self.community_b,
            "a_balance": p.a_balance, "b_balance": p.b_balance, "net": p.net, "measure": self.measure_name,
            "debtor_id": debtor, "creditor_id": None if debtor is None else (
                self.community_b if debtor == self.community_a else self.community_a),
            "amount_due": abs(p.net), "transfers": p.transfers,
            "period_start": self.last_cleared_at or p.since, "period_end": at,
            "a_point_value_fen": self.a_point_value_fen, "b_point_value_fen": self.b_point_value_fen,
            "triggered_by": by or "scheduler", "cleared_at": at,
        }
        return replace(self, position=Position(), last_cleared_at=at, updated_at=at), record

    # -- events -------------------------------------------------------------------------------------
    def line_facts(self) -> dict:
        """TrustLineOpened / Changed / Closed payload: what the ledger needs to enforce the line."""
        return {"trust_line_id": self.trust_line_id, "agreement_id": self.agreement_id, "unit": self.unit,
                "community_id": self.community_a, "community_a": self.community_a, "community_b": self.community_b,
                "net_limit": self.net_limit, "measure": self.measure_name, "status": self.status,
                "clearing_period": self.clearing_period}

    def rate_facts(self) -> dict:
        """RateChanged payload."""
        return {"trust_line_id": self.trust_line_id, "agreement_id": self.agreement_id, "unit": self.unit,
                "community_id": self.community_a, "community_a": self.community_a, "community_b": self.community_b,
                "basis": "1:1" if self.unit == "HOUR" else "point_value_fen",
                "a_point_value_fen": self.a_point_value_fen, "b_point_value_fen": self.b_point_value_fen,
                "rate_version": self.rate_version}


def lines_of_agreement(payload: dict, at: datetime) -> list[TrustLine]:
    """The trust lines an accepted agreement opens (one per unit it names)."""
    return [TrustLine(trust_line_id(payload["agreement_id"], term["unit"]), payload["agreement_id"], term["unit"],
                      payload["proposer_id"], payload["partner_id"], int(term["net_limit"]),
                      payload.get("clearing_period") or "monthly", "open", opened_at=at, updated_at=at)
            for term in payload["units"]]
