"""Read planning: what each resident's transfer command decides on, so a group of them (group commit) is
read in one round trip before their handlers run (`prefetch`), and each handler alone in one (`reads_of`)."""
from __future__ import annotations

from shared.uow import Tx
from services.ledger import commands, loans, lots, model
from services.ledger.ids import key_id
from services.ledger.repository import TRANSFER_COMMUNITY_IDS, LedgerRepository, shard_id, transfer_community_ids

RESOLVE_VERBS = {commands.ConfirmTransfer: "confirm", commands.RejectTransfer: "reject",
                 commands.CancelTransfer: "cancel"}


def key_scope_of(cmd) -> str:
    """The Idempotency-Key scope of a create / confirm / reject / cancel command."""
    if isinstance(cmd, commands.CreateTransfer):
        return "transfers"
    return f"{RESOLVE_VERBS[type(cmd)]}:{cmd.transfer_id}"


def reads_of(cmd) -> dict:
    """The documents a command decides on, as LedgerRepository.snapshot() takes them. Create: the key's
    record, the community's settings, my account and the counterparty's (or the issuance account for an
    award, and the shard of it the award will debit). Confirm / reject / cancel: the key's record, the transfer
    and (read with it) both its accounts and their shards."""
    actor = cmd.actor
    key = key_id(actor, key_scope_of(cmd), cmd.idempotency_key)
    if not isinstance(cmd, commands.CreateTransfer):
        return {"key_id": key, "transfer_id": cmd.transfer_id}
    mine = model.member_account_id(actor.community_id, actor.member_id, cmd.unit)
    reads = {"key_id": key, "community_id": actor.community_id}
    if cmd.workflow == "award":
        issuance = model.system_of(actor.community_id, "issuance", cmd.unit)
        return {**reads, "account_ids": [mine, issuance.account_id],
                "shard_ids": [shard_id(issuance.account_id, issuance.shard_of(cmd.transfer_id))]}
    other = model.member_account_id(cmd.counterparty_community or actor.community_id, cmd.counterparty_id,
                                    cmd.unit) if cmd.counterparty_id else None
    clearings = ()
    if cmd.counterparty_community not in (None, actor.community_id):  # a cross transfer opens or moves these
        clearings = (model.partner_account_id(actor.community_id, cmd.counterparty_community, cmd.unit),
                     model.partner_account_id(cmd.counterparty_community, actor.community_id, cmd.unit))
    return {**reads, "account_ids": [a for a in (mine, other, *clearings) if a]}


def _pt_transfer_accounts() -> dict:
    """The accounts of the fetched PT transfers (aggregation; `_pt_accounts` of documents in hand)."""
    pt = {"$filter": {"input": {"$ifNull": ["$transfers", []]}, "as": "t", "cond": {"$eq": ["$$t.unit", "PT"]}}}
    return {"$concatArrays": [{"$map": {"input": pt, "as": "t", "in": f"$$t.{side}_account"}}
                              for side in ("debit", "credit")]}


def _pt_accounts(transfer_docs) -> list[str]:
    pt = [d for d in transfer_docs if d["unit"] == "PT"]
    return [d["debit_account"] for d in pt] + [d["credit_account"] for d in pt]


def prefetch(tx: Tx, cmds: list) -> None:
    """Read what a group of commands needs in one round trip, before their handlers run (group commit): the
    books and transfers, and what the points economy decides on (lots.remember): the lots and summaries of the
    PT transfers' accounts (a confirm spends and earns lots), the summaries of the members claiming awards, and
    the rule versions of every community involved."""
    reads = [reads_of(c) for c in cmds]
    awards = [(r["account_ids"][0], r["community_id"]) for c, r in zip(cmds, reads)
              if isinstance(c, commands.CreateTransfer) and c.workflow == "award" and c.unit == "PT"]
    claimants, award_communities = [a for a, _ in awards], [c for _, c in awards]
    computed = {"lot_accounts": _pt_transfer_accounts(),
                "summary_accounts": {"$concatArrays": [{"$literal": claimants}, _pt_transfer_accounts()]},
                "rule_communities": {"$concatArrays": [{"$literal": award_communities}, TRANSFER_COMMUNITY_IDS]}}
    follow = {"lots": (lots.LOTS, "lot_accounts", "account_id", lots.HOLDING),
              "summaries": (lots.SUMMARIES, "summary_accounts"),
              "rules": (lots.RULES, "rule_communities", "community_id", None),
              "loans": (loans.LOANS, "lot_accounts", "account_id", loans.ACTIVE)}
    repo = LedgerRepository(tx)
    docs = repo.load(keys=[r["key_id"] for r in reads if r.get("key_id")],
                     communities=[r["community_id"] for r in reads if r.get("community_id")],
                     accounts=[a for r in reads for a in r.get("account_ids", ())],
                     shards=[s for r in reads for s in r.get("shard_ids", ())],
                     transfers=[r["transfer_id"] for r in reads if r.get("transfer_id")],
                     follow=follow, computed=computed)
    if docs:
        transfers = docs.get("transfers", ())
        lots.remember(repo, docs, _pt_accounts(transfers), [*claimants, *_pt_accounts(transfers)],
                      [*award_communities, *transfer_community_ids(transfers)])
        loans.remember(repo, docs.get("loans", ()), _pt_accounts(transfers))
