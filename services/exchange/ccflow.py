"""Transfers between deployments: the command handlers of both sides (each in one unit of work) and the driver that
sends the initiator's steps to the neighbour (outside any transaction). States: `cctransfer.py`.

Addresses: a resident is `<node path>/<community code>/<handle>` (the public handle, never a phone number), e.g.
`trunk/lianhua/lianhua-lane/nb7k2m4q9p`. A payee address below our own path is ours; below a leafward neighbour's
path goes to it; anything else goes trunkward.

The ledger owns balances and hears of them on exchange.events: `FederatedDebitRequested` (hold the payer's funds,
answered by the ledger's TransferPending / TransferRejected with reference `{kind: "cc", id: uuid}`),
`FederatedDebitSettled` (post what it held), `FederatedDebitReleased` (release it), `FederatedCreditDue` (credit
the payee). Each is emitted in the same transaction as the protocol state it follows from (outbox)."""
from __future__ import annotations

import json
import logging
import uuid as uuidlib
from dataclasses import replace
from datetime import datetime

from shared import topics
from shared.envelope import new_event
from shared.errors import Unprocessable
from shared.mongo import utcnow
from shared.uow import Tx
from services.exchange import cc_client, cctransfer
from services.exchange.cctransfer import CcTransfer, Step
from services.exchange.federation import UNITS, TrunkwardNode, authenticate
from services.exchange.repository import CcRepository

log = logging.getLogger(__name__)
PRODUCER = "exchange"


class CcRefusal(Exception):
    """A protocol-level refusal answered as `{"errors": [message]}` (status 400, 404 or 409)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _emit(tx: Tx, type_: str, t: CcTransfer, node: TrunkwardNode, **extra) -> None:
    payload = {"uuid": t.uuid, "community_id": t.community_id, "member_id": t.member_id, "unit": t.unit,
               "amount": t.amount, "neighbour": node.peer_name, "memo": t.entries[0].get("description") or None,
               **extra}
    tx.emit(topics.EXCHANGE, new_event(type_, payload, key=t.uuid, producer=PRODUCER, community_id=t.community_id))


def address_of(node_path: str, community_code: str, handle: str) -> str:
    """A resident's Credit Commons address."""
    return f"{node_path}/{community_code}/{handle}"


def member_unknown() -> Unprocessable:
    """422 while the exchange has not yet heard a resident's public handle or their community's code (from
    community.events): they have no address yet."""
    return Unprocessable("您的账户尚未开通联网，请稍后再试。Your account is not known to the exchange yet; try again "
                         "shortly.", code="cc_member_unknown")


def local_part(address: str, node_path: str) -> list[str] | None:
    """`[community code, handle]` when the address is a resident of the node at `node_path`, else None (deeper
    paths belong to its leafward neighbours)."""
    if not address.startswith(node_path + "/"):
        return None
    parts = address[len(node_path) + 1:].split("/")
    return parts if len(parts) == 2 and all(parts) else None


# -- the initiator: a resident pays an account on another node ------------------------------------------------
def start(tx: Tx, *, unit: str, community_id: str, member_id: str, payee: str, amount: int, memo: str | None,
          at: datetime) -> CcTransfer:
    """Record a new outgoing transfer (state `new`, its relay to be sent): nothing reaches the ledger until the
    neighbour has validated it. 422 when the unit is not grafted, the address is ours or the net limit is full."""
    repo = CcRepository(tx)
    if unit not in UNITS:
        raise Unprocessable(f"未知单位 {unit!r}。 Unknown unit {unit!r}.", code="unknown_unit")
    nodes = repo.neighbours(unit)
    if not nodes:
        raise Unprocessable("本部署的此单位尚未接入联网。This unit is not federated with any other node.",
                            code="not_federated")
    payee = payee.strip().strip("/")
    ours = nodes[0].our_node_path
    if local_part(payee, ours) is not None:
        raise Unprocessable("该地址属于本部署：请用社区之间的互认转账。That address is on this node: use a partner transfer.",
                            code="cc_address_local")
    node = next((n for n in nodes if n.relation == "leafward" and payee.startswith(n.peer_node_path + "/")),
                None) or next((n for n in nodes if n.relation == "trunkward"), None)
    if node is None or len(payee.split("/")) < 3:
        raise Unprocessable("找不到通往该地址的节点。No node on the way to that address.", code="cc_no_route")
    if amount > node.headroom("out"):
        raise Unprocessable("超出与对方节点的净额上限，暂时不能转账。The net limit with that node does not allow this "
                            "transfer now.", code="cc_net_limit")
    code = repo.community_code(community_id)
    handle = repo.handle_of(community_id, member_id)
    if code is None or handle is None:
        raise member_unknown()
    quant = node.to_wire(amount)
    body = cctransfer.relay_body(str(uuidlib.uuid4()), address_of(ours, code, handle), payee, quant, memo or "")
    t = CcTransfer(body["uuid"], "out", unit, node.node_id, community_id, member_id, amount, body, "new", at,
                   step=Step("V"), updated_at=at, history=({"state": "new", "at": at},))
    repo.save_transfer(t)
    repo.save_node(replace(node, pending_out=node.pending_out + amount))
    return t


def fix_prev(tx: Tx, transfer_id: str, prev: str) -> CcTransfer | None:
    """Persist the head the next request is made at, before it leaves (a restarted node repeats it exactly)."""
    repo = CcRepository(tx)
    t = repo.transfer(transfer_id)
    if t is None or t.step is None:
        return None
    if t.step.prev != prev:
        t = replace(t, step=Step(t.step.state, prev))
        repo.save_transfer(t)
    return t


def acknowledged(tx: Tx, transfer_id: str, at: datetime) -> CcTransfer | None:
    """The neighbour applied our step: advance the chain by the same step it made, move the transfer on, and tell
    the ledger what follows from it (hold, post or release), all in one transaction."""
    repo = CcRepository(tx)
    t = repo.transfer(transfer_id)
    if t is None or t.step is None or t.step.prev is None:
        return t
    node = repo.node(t.neighbour_id)
    if node.last_hash != t.step.prev:  # our head moved meanwhile: re-issue the step at the current head
        return repo.save_transfer(replace(t, step=Step(t.step.state)))
    head = t.chain_hash(t.step.prev, t.step.state)
    was = t.state
    done = t.acknowledged(at)
    if done.state == "validated":
        _emit(tx, "FederatedDebitRequested", done, node)
    elif done.state == "pending":
        done = done.after_pending()
    elif done.state == "completed":
        node = replace(node, net=node.net + t.amount, pending_out=node.pending_out - t.amount)
        _emit(tx, "FederatedDebitSettled", done, node)
    else:  # erased or timed out
        node = replace(node, pending_out=node.pending_out - t.amount)
        if was in ("held", "pending"):
            _emit(tx, "FederatedDebitReleased", done, node, reason=done.state)
    repo.save_node(replace(node, last_hash=head, last_step={"uuid": t.uuid, "state": t.step.state,
                                                              "prev": t.step.prev}))
    repo.save_transfer(done)
    return done


def refused(tx: Tx, transfer_id: str, reason: str, at: datetime) -> CcTransfer | None:
    """The neighbour refused our step (it changed nothing): a refused relay ends the transfer (nothing anywhere);
    a refused pending is erased instead; a refused erase of a transfer it never kept is done."""
    repo = CcRepository(tx)
    t = repo.transfer(transfer_id)
    if t is None or t.step is None:
        return t
    node = repo.node(t.neighbour_id)
    if t.step.state == "V":
        repo.save_node(replace(node, pending_out=node.pending_out - t.amount))
        return repo.save_transfer(t.moved("refused", at, reason=reason, bump=False))
    if t.step.state == "P":
        return repo.save_transfer(replace(t, reason=reason, step=Step("E")))
    log.error("neighbour refused a step it must accept", extra={"uuid": t.uuid, "step": t.step.state,
                                                               "reason": reason})
    return repo.save_transfer(replace(t, reason=reason))


def ledger_answered(tx: Tx, transfer_id: str, held: bool, reason: str | None, at: datetime) -> None:
    """The ledger held the payer's funds (ask the neighbour for pending) or refused (erase it there)."""
    repo = CcRepository(tx)
    t = repo.transfer(transfer_id)
    if t is None or t.direction != "out":
        return
    repo.save_transfer(t.next_after_hold(at) if held else t.refused_locally(reason or "refused", at))


# -- the neighbour: requests from an adjacent node ------------------------------------------------------------
def _authenticated(repo: CcRepository, unit: str, headers, uuid: str | None, state: str) -> TrunkwardNode:
    """The calling neighbour (last-hash, or the head before our latest step when it repeats that step). While we
    have a request of our own in flight to it, its change waits (503, retried): the chain moves one step at a time
    even when both nodes start a transfer at once."""
    nodes = repo.neighbours(unit)
    caller = next((n for n in nodes if headers.get("cc-node") in (n.peer_node_path, n.peer_name)), None)
    step = (caller.last_step or {}) if caller else {}
    replay = step.get("prev") if uuid is not None and step.get("uuid") == uuid and step.get("state") == state \
        else None
    node = authenticate(headers, nodes, replay_of=replay)
    if repo.busy(node.node_id, utcnow()):
        raise CcRefusal(503, "我方发往贵方的请求尚在处理中，请稍后重试。 A request of ours to you is in flight; retry shortly.")
    return node


def _is_replay(node: TrunkwardNode, headers, uuid: str, state: str) -> bool:
    step = node.last_step or {}
    return headers.get("last-hash") != node.last_hash and step.get("uuid") == uuid and step.get("state") == state


def receive_relay(tx: Tx, unit: str, headers, raw: bytes, path: str, at: datetime) -> tuple[dict, CcTransfer]:
    """POST transaction/relay: validate an incoming transfer (the payee is ours and active, the amount converts to
    at least 1, our net limit with the caller allows it), record it validated and advance the chain; a repeat of
    the same relay (its answer was lost) gets the same answer and changes nothing."""
    repo = CcRepository(tx)
    body = _json(raw)
    uuid = body.get("uuid")
    node = _authenticated(repo, unit, headers, uuid if isinstance(uuid, str) else None, "V")
    node.check_signature(headers, "POST", path, raw)
    known = repo.transfer(uuid) if isinstance(uuid, str) else None
    if known is not None:
        if known.direction != "in" or known.body != body or known.neighbour_id != node.node_id:
            raise CcRefusal(400, f"交易 {uuid} 已存在。 Transaction {uuid} exists already.")
        return _relay_answer(known), known
    entries = _check_relay(body)
    entry = entries[0]
    payee, payer = str(entry["payee"]), str(entry["payer"])
    if local_part(payer, node.our_node_path) is not None:
        raise CcRefusal(400, "付款方须为远端账户。 Payer must be a remote account.")
    parts = local_part(payee, node.our_node_path)
    if parts is None:
        raise CcRefusal(400, "收款方须为本地账户。 Payee must be a local account.")
    member = repo.member_at(*parts)
    if member is None:
        raise CcRefusal(404, f"local party {'/'.join(parts)} not found on {node.our_node_path}")
    amount = node.from_wire(entry["quant"])
    if amount < 1:
        raise CcRefusal(400, "金额不足本节点的一个单位。 The amount is worth less than one unit here.")
    if amount > node.headroom("in"):
        raise CcRefusal(400, "超出两节点之间的净额上限，不能接受这笔交易。 "
                             f"The net limit of {node.our_node_path} with {node.peer_node_path} does not allow this "
                             "transaction.")
    t = CcTransfer(uuid, "in", unit, node.node_id, member["community_id"], member["member_id"], amount, body,
                   "validated", at, updated_at=at, history=({"state": "validated", "at": at},))
    head = t.chain_hash(node.last_hash, "V")
    repo.save_node(replace(node, last_hash=head, pending_in=node.pending_in + amount,
                           last_step={"uuid": uuid, "state": "V", "prev": node.last_hash}))
    repo.save_transfer(t)
    return _relay_answer(t), t


def receive_state(tx: Tx, unit: str, headers, transfer_id: str, state: str, path: str, at: datetime) -> CcTransfer:
    """PATCH transaction/<uuid>/<state>: move an incoming transfer (P, C, E, T) and advance the chain; C credits
    the payee through the ledger (once: a repeated C changes nothing)."""
    repo = CcRepository(tx)
    target = cctransfer.letter(state)
    node = _authenticated(repo, unit, headers, transfer_id, target)
    node.check_signature(headers, "PATCH", path, b"")
    t = repo.transfer(transfer_id)
    if t is None or t.direction != "in" or t.neighbour_id != node.node_id:
        raise CcRefusal(404, f"Transfer {transfer_id} not found")
    if _is_replay(node, headers, transfer_id, target) or not t.check_move(target):
        return t
    head = t.chain_hash(node.last_hash, target)
    done = t.moved(cctransfer.WORDS[target], at)
    if target == "C":
        node = replace(node, net=node.net - t.amount, pending_in=node.pending_in - t.amount)
        _emit(tx, "FederatedCreditDue", done, node)
    elif target in ("E", "T"):
        node = replace(node, pending_in=node.pending_in - t.amount)
    repo.save_node(replace(node, last_hash=head, last_step={"uuid": transfer_id, "state": target,
                                                              "prev": node.last_hash}))
    return repo.save_transfer(done)


def fetch(tx: Tx, unit: str, headers, transfer_id: str, path: str) -> CcTransfer:
    """GET transaction/<uuid>: a transfer this node shares with the caller."""
    repo = CcRepository(tx)
    node = authenticate(headers, repo.neighbours(unit))
    node.check_signature(headers, "GET", path, b"")
    t = repo.transfer(transfer_id)
    if t is None or t.neighbour_id != node.node_id:
        raise CcRefusal(404, f"Transfer {transfer_id} not found")
    return t


def wire_transaction(t: CcTransfer) -> dict:
    """A transfer as the protocol shows it."""
    return {"uuid": t.uuid, "state": cctransfer.LETTERS.get(t.state, "V"), "workflow": t.body.get("workflow"),
            "version": t.version, "entries": t.entries}


def _relay_answer(t: CcTransfer) -> dict:
    return {"data": t.entries, "meta": {"secs_valid_left": int(cctransfer.DEADLINE.total_seconds())}}


def _json(raw: bytes) -> dict:
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise CcRefusal(400, "请求体须为 JSON 交易对象。 The body is a JSON transaction object.")
    return body


def _check_relay(body: dict) -> list:
    uuid, entries = body.get("uuid"), body.get("entries")
    if not isinstance(uuid, str) or not cc_client.UUID.match(uuid):
        raise CcRefusal(400, "uuid 须为小写的 8-4-4-4-12 十六进制格式。 uuid is a lowercase 8-4-4-4-12 hex uuid.")
    if body.get("state") not in (None, "V", "validated"):
        raise CcRefusal(400, "转发的交易须处于 V 状态。 A relayed transaction is in state V.")
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
        raise CcRefusal(400, "本节点只接受单笔分录的转发交易。 This node accepts relayed transactions of one entry.")
    entry = entries[0]
    quant = entry.get("quant")
    if isinstance(quant, bool) or not isinstance(quant, (int, float)) or not quant > 0 or quant > 10**12:
        raise CcRefusal(400, "quant 须为正数。 quant is a positive number.")
    for name in ("payer", "payee"):
        if not isinstance(entry.get(name), str) or not 0 < len(entry[name]) <= 300:
            raise CcRefusal(400, f"{name} 须为账户路径。 {name} is an account path.")
    if not isinstance(entry.get("description", ""), str) or len(entry.get("description", "")) > 255:
        raise CcRefusal(400, "description 须为不超过 255 个字符的文本。 description is text of at most 255 characters.")
    return entries


# -- the driver: sends the initiator's steps (outside transactions) -----------------------------------------------
def advance(runtime, transfer_id: str, client: "cc_client.Client | None" = None,
            lock_wait: float = 10.0) -> CcTransfer | None:
    """Send the transfer's next step to its neighbour, if it has one, and record the answer: under the neighbour's
    lock (one request at a time per chain); the head is stored before the request leaves. A network failure or a
    5xx leaves the step to be repeated (by the recovery); a refusal is recorded."""
    client = client or cc_client.Client()
    uow = runtime.uow
    t = uow.run(lambda tx: CcRepository(tx).transfer(transfer_id))
    if t is None or t.step is None:
        return t
    with cc_client.neighbour_lock(runtime.db, t.neighbour_id, lock_wait):
        node = uow.run(lambda tx: CcRepository(tx).node(t.neighbour_id))
        t = uow.run(lambda tx: CcRepository(tx).transfer(transfer_id))
        if t is None or t.step is None:
            return t
        prev = t.step.prev or node.last_hash
        t = uow.run(lambda tx: fix_prev(tx, transfer_id, prev))
        answer = client.send(node, t)
        now = utcnow()
        if answer.ok:
            return uow.run(lambda tx: acknowledged(tx, transfer_id, now))
        if answer.refused:
            return uow.run(lambda tx: refused(tx, transfer_id, answer.message, now))
        if answer.status == 401 and uow.run(lambda tx: CcRepository(tx).node(t.neighbour_id)).last_hash != prev:
            # Our head moved since the step was fixed (the neighbour's own step came first, so it never applied
            # ours): send it again at the current head.
            return uow.run(lambda tx: CcRepository(tx).save_transfer(replace(t, step=Step(t.step.state))))
        log.warning("federation step not done yet", extra={"uuid": transfer_id, "step": t.step.state,
                                                           "status": answer.status, "error": answer.message})
        return t


def recover(runtime, client: "cc_client.Client | None" = None, limit: int = 100) -> int:
    """Finish or undo what this node started: every outgoing transfer with a step to send (after a restart, a
    timeout or a lost answer) is sent again, oldest first; held ones past their deadline are timed out.
    Returns how many steps were tried."""
    client = client or cc_client.Client()
    now = utcnow()
    runtime.db[CcRepository.TRANSFERS].update_many(
        {"direction": "out", "state": "held", "step.state": "P", "step.prev": None,
         "created_at": {"$lte": now - cctransfer.DEADLINE}}, {"$set": {"step.state": "T"}})
    due = runtime.db[CcRepository.TRANSFERS].find({"direction": "out", "step": {"$ne": None}}, {"_id": 1}) \
        .sort("created_at", 1).limit(limit)
    tried = 0
    for doc in list(due):
        try:
            advance(runtime, doc["_id"], client, lock_wait=0.2)
        except cc_client.LockBusy:  # a request to that neighbour is under way (the web, another round): next round
            continue
        tried += 1
    return tried


def public(t: CcTransfer, node_path: str | None = None) -> dict:
    """A transfer as its resident (or an operator) sees it."""
    entry = t.entries[0]
    return {"uuid": t.uuid, "direction": t.direction, "unit": t.unit, "state": t.state, "amount": t.amount,
            "quant": entry["quant"], "payer": entry["payer"], "payee": entry["payee"],
            "description": entry.get("description") or "", "reason": t.reason, "created_at": t.created_at,
            "updated_at": t.updated_at}

