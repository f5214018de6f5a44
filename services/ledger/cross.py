"""Cross-community transfers inside one deployment (SPEC §7; the contract is services/exchange/README.md,
"The ledger's side"). Pure: the ledger's own view of a trust line and the rules a cross transfer obeys.

A resident of A pays (`credit`) or bills (`bill`) a resident of B. The rate is fixed when the transfer is
created (`TrustLine.price`: both amounts, both point values, the rate version); the transfer posts in two legs,
each inside one community (payer → `p:A:B:unit`, `p:B:A:unit` → payee: model.Transfer.legs), and at confirm
the line must still be open and its net position must stay within the net limit (`TrustLine.admit`).
`ClearingCompleted` brings both clearing accounts back by the recorded balances (`TrustLine.clearing_moves`)."""
from __future__ import annotations

from dataclasses import dataclass, replace

from shared import crossrate
from shared.errors import Unprocessable
from services.ledger.model import partner_account_id, system_account_id

OPEN = "open"


def _refused(detail: str, code: str, **extra) -> Unprocessable:
    return Unprocessable(detail, code=code, **extra)


@dataclass(frozen=True)
class TrustLine:
    """What the ledger keeps of a trust line from exchange.events: its two communities, unit, net limit,
    status, the latest rate, and its own running `net` in the unit's measure (> 0: a's members paid more into
    b than they received), plus the clearings already applied (a redelivered record moves nothing twice)."""

    trust_line_id: str
    agreement_id: str
    unit: str
    community_a: str
    community_b: str
    net_limit: int = 0
    status: str = OPEN
    a_point_value_fen: int | None = None
    b_point_value_fen: int | None = None
    rate_version: int = 0
    net: int = 0
    clearings: tuple = ()

    def side_of(self, community_id: str) -> str:
        """'a' or 'b'."""
        if community_id == self.community_a:
            return "a"
        if community_id == self.community_b:
            return "b"
        raise ValueError(f"{community_id} is not on {self.trust_line_id}")

    def partner_of(self, community_id: str) -> str:
        """The other community of the line."""
        return self.community_b if self.side_of(community_id) == "a" else self.community_a

    def fen_of(self, community_id: str) -> int | None:
        """A community's declared point value on this line (PT)."""
        return self.a_point_value_fen if self.side_of(community_id) == "a" else self.b_point_value_fen

    def check_open(self) -> None:
        """Only an open line carries new cross transfers (and posts pending ones)."""
        if self.status != OPEN:
            raise _refused(f"与该社区的互认额度已{'暂停' if self.status == 'suspended' else '关闭'}，不能跨社区转账。"
                           f"The trust line with this community is {self.status}: no cross-community transfers.",
                           "trust_line_closed", line_status=self.status)

    def price(self, workflow: str, amount: int, payer_community: str) -> dict:
        """The terms of a new cross transfer of `amount` stated by the payer (`credit`) or the payee (`bill`),
        at today's rate: both amounts, both point values, the rate version, the measure, the clearing accounts."""
        self.check_open()
        if self.rate_version < 1:
            raise _refused("该互认额度的汇率尚未生效，请稍后再试。The trust line's rate is not known yet; try again shortly.",
                           "rate_unknown")
        payee_community = self.partner_of(payer_community)
        c = crossrate.convert(self.unit, amount, "payer" if workflow == "credit" else "payee",
                              self.fen_of(payer_community), self.fen_of(payee_community))
        return {"trust_line_id": self.trust_line_id, "agreement_id": self.agreement_id,
                "payer_community": payer_community, "payee_community": payee_community,
                "debit_amount": c.debit_amount, "credit_amount": c.credit_amount,
                "payer_point_value_fen": c.payer_point_value_fen, "payee_point_value_fen": c.payee_point_value_fen,
                "rate_version": self.rate_version, "measure": c.measure,
                "payer_clearing_account": partner_account_id(payer_community, payee_community, self.unit),
                "payee_clearing_account": partner_account_id(payee_community, payer_community, self.unit)}

    def delta(self, terms: dict) -> int:
        """How a transfer with these terms moves `net`: +measure when a's member pays, −measure otherwise."""
        return terms["measure"] if self.side_of(terms["payer_community"]) == "a" else -terms["measure"]

    def admit(self, terms: dict) -> "TrustLine":
        """The line after posting a cross transfer: open, and |net + Δ| ≤ net_limit (a move towards zero is
        always allowed); 422 `trust_line_limit` otherwise (nothing moves, the transfer stays pending)."""
        self.check_open()
        after = self.net + self.delta(terms)
        if abs(after) > self.net_limit and abs(after) >= abs(self.net):
            raise _refused("超出与该社区的互认额度，暂时不能转账。The trust line's net limit with this community does "
                           "not allow this transfer now.", "trust_line_limit",
                           headroom=max(self.net_limit - abs(self.net), 0))
        return replace(self, net=after)

    def cleared(self, record: dict) -> "TrustLine | None":
        """The line after a clearing record (`net −= record.net`), or None when it was applied already."""
        if record["clearing_id"] in self.clearings:
            return None
        return replace(self, net=self.net - record["net"], clearings=(*self.clearings, record["clearing_id"]))

    def clearing_moves(self, record: dict) -> list[dict]:
        """The system transfers a clearing record asks for: each side's clearing account back by exactly its
        recorded balance, against that community's issuance account (a balance of 0 moves nothing)."""
        moves = []
        for side, community, partner in (("a", self.community_a, self.community_b),
                                         ("b", self.community_b, self.community_a)):
            balance = record[f"{side}_balance"]
            if not balance:
                continue
            clearing = partner_account_id(community, partner, self.unit)
            issuance = system_account_id(community, "issuance", self.unit)
            debit, credit = (clearing, issuance) if balance > 0 else (issuance, clearing)
            moves.append({"community_id": community, "partner_id": partner, "debit": debit, "credit": credit,
                          "amount": abs(balance), "source": f"clearing:{record['clearing_id']}:{community}"})
        return moves


def line_for(lines: list[TrustLine]) -> TrustLine:
    """The line a new cross transfer goes through: the open one (a partnership has one per unit); 422
    `trust_line_closed` when the only ones are suspended or ended, `no_trust_line` when there is none."""
    if not lines:
        raise _refused("与该社区没有互认协议（此单位）。There is no partner agreement with this community for this "
                       "unit.", "no_trust_line")
    return next((x for x in lines if x.status == OPEN), None) or (
        next((x for x in lines if x.status != "closed"), lines[0]))
