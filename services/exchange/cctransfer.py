"""A transfer between deployments (Credit Commons 0.9 dialect, two-phase): its states, the steps its initiating node
sends, and the hash-chain step each state change makes. Pure: no I/O.

The node whose resident pays is the initiator; it drives every state change and the neighbour never changes one on
its own (so the chain they share only moves by the initiator's requests, and a lost answer can be replayed):

    new ──relay V──▶ validated ──(ledger holds the payer's funds)──▶ held ──PATCH P──▶ pending ──PATCH C──▶ completed
      └─ refused (the neighbour said no: nothing anywhere)      └─ refusing (ledger said no) ──PATCH E──▶ erased
                         held past its deadline ──PATCH T──▶ timedout

The neighbour records the same transfer (`direction: in`): V validated (its net limit and the payee checked),
P pending, C completed (its ledger credits the payee, once), E erased / T timed out (nothing moves). Completion is
remote-first: the initiator's ledger posts the debit it held only after the neighbour answered C, so there is never
a local debit without its remote credit; a crash between the two is finished by the recovery (replay C, then post).

Every applied state change advances the chain on both sides by the same step: `hashchain.next_hash(previous, uuid,
letter, entries, version)`; the relay is the protocol's own (`relay_hash`: state V, the body's version, absent)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from shared.errors import Conflict, Unprocessable
from services.exchange import hashchain

LETTERS = {"validated": "V", "pending": "P", "completed": "C", "erased": "E", "timedout": "T"}
WORDS = {v: k for k, v in LETTERS.items()}
WORKFLOW = "_C-"  # the payer pays; our two phases are driven by the payer's node
MAX_DESCRIPTION = 255
# The incoming side's transitions (letter → letters it may go to).
NEXT = {"V": ("P", "E", "T"), "P": ("C", "E", "T"), "C": (), "E": (), "T": ()}
DEADLINE = timedelta(minutes=10)  # a transfer not yet asked to complete by then is timed out
FINAL = ("completed", "refused", "erased", "timedout")


def letter(state: str) -> str:
    """A state as the wire names it (`V`…`T`; full words are accepted too); 404-like Unprocessable otherwise."""
    found = state if state in WORDS else LETTERS.get(state)
    if found is None:
        raise Unprocessable(f"未知的交易状态 {state!r}。 Unknown transaction state {state!r}.", code="bad_cc_state")
    return found


@dataclass(frozen=True)
class Step:
    """What the initiator asks the neighbour next: the relay (`V`) or a state change, at head `prev` (fixed, and
    stored, before the request leaves, so the very same request is what a restarted node repeats)."""

    state: str
    prev: str | None = None


@dataclass(frozen=True)
class CcTransfer:
    """One cross-deployment transfer as one node keeps it (`direction` out: our resident pays; in: ours receives)."""

    uuid: str
    direction: str
    unit: str
    neighbour_id: str
    community_id: str
    member_id: str
    amount: int  # the local amount: debited (out) or credited (in), a whole number of minutes or points
    body: dict  # the relay body exactly as sent or received (hashed on both sides)
    state: str
    created_at: datetime
    version: int = 0
    step: Step | None = None
    reason: str | None = None
    updated_at: datetime | None = None
    history: tuple = field(default_factory=tuple)

    @property
    def entries(self) -> list:
        return self.body["entries"]

    @property
    def quant(self):
        return self.entries[0]["quant"]

    def chain_hash(self, previous: str, state: str) -> str:
        """The chain's next head once this transfer takes the state `state` (a letter)."""
        if state == "V":
            return hashchain.relay_hash(previous, self.body)
        return hashchain.next_hash(previous, self.uuid, state, self.entries, self.version + 1)

    def moved(self, state_word: str, at: datetime, reason: str | None = None, step: Step | None = None,
              bump: bool = True) -> "CcTransfer":
        """A copy in a new local state (the version moves with every state change the chain recorded)."""
        return replace(self, state=state_word, updated_at=at, reason=reason if reason is not None else self.reason,
                       step=step, version=self.version + (1 if bump else 0),
                       history=(*self.history, {"state": state_word, "at": at}))

    # -- the initiator ------------------------------------------------------------------------------------
    def acknowledged(self, at: datetime) -> "CcTransfer":
        """The neighbour applied our step: the local state it leads to, and no step until the next is decided."""
        assert self.step is not None
        word = {"V": "validated", "P": "pending", "C": "completed", "E": "erased", "T": "timedout"}[self.step.state]
        return self.moved(word, at, step=None, bump=self.step.state != "V")

    def next_after_hold(self, at: datetime) -> "CcTransfer":
        """The ledger holds the payer's funds: ask for pending (or, past the deadline, time it out)."""
        if self.state != "validated":
            return self
        late = at >= self.created_at + DEADLINE
        return replace(self, state="held", updated_at=at, step=Step("T" if late else "P"))

    def refused_locally(self, reason: str, at: datetime) -> "CcTransfer":
        """The ledger refused to hold the payer's funds: erase it on the neighbour."""
        if self.state != "validated":
            return self
        return replace(self, state="refusing", reason=reason, updated_at=at, step=Step("E"))

    def after_pending(self) -> "CcTransfer":
        """Pending on both sides: ask for completion."""
        return replace(self, step=Step("C"))

    # -- the neighbour ----------------------------------------------------------------------------------
    def check_move(self, target: str) -> bool:
        """Whether a requested state change must be applied (True), is a repeat of the state it is in (False), or is
        not allowed (409)."""
        current = LETTERS[self.state]
        if target == current:
            return False
        if target not in NEXT[current]:
            raise Conflict("该交易当前状态不允许此变更。 "
                           f"Transaction {self.uuid} is {self.state}; it cannot become {WORDS[target]}.",
                           code="cc_bad_transition", state=self.state)
        return True


def relay_body(uuid: str, payer_address: str, payee_address: str, quant, description: str) -> dict:
    """The relay body we send: one entry, the quantity as a JSON number (integral → int), no version (0.9)."""
    number = int(quant) if quant == int(quant) else float(quant)
    return {"uuid": uuid, "state": "V", "workflow": WORKFLOW,
            "entries": [{"payer": payer_address, "payee": payee_address, "quant": number,
                         "description": (description or "")[:MAX_DESCRIPTION], "metadata": {}}]}


def to_doc(t: CcTransfer) -> dict:
    """The stored document."""
    doc = {k: getattr(t, k) for k in t.__dataclass_fields__}
    doc["_id"] = doc.pop("uuid")
    doc["step"] = None if t.step is None else {"state": t.step.state, "prev": t.step.prev}
    doc["history"] = list(t.history)
    return doc


def from_doc(doc: dict) -> CcTransfer:
    """A CcTransfer from its document."""
    values = {k: v for k, v in doc.items() if k != "_id"}
    values["step"] = Step(**doc["step"]) if doc.get("step") else None
    values["history"] = tuple(doc.get("history") or ())
    return CcTransfer(uuid=doc["_id"], **values)
