"""Group commit: the residents' transfer commands that arrive together share one MongoDB transaction.

Each test hands a whole group to the ledger's GroupUnitOfWork exactly as the GroupCommitter does (the one
bootstrap builds, with the ledger's prefetch), so the grouping is deterministic rather than left to timing."""
from __future__ import annotations

import uuid

from pymongo import MongoClient, monitoring

from shared.errors import Problem
from shared.groupcommit import GroupUnitOfWork
from shared.uow import UnitOfWork
from services.ledger import commands
from services.ledger.bootstrap import GROUPED, group_unit_of_work
from services.ledger.handlers import HANDLERS
from services.ledger.reads import prefetch
from services.ledger.model import Actor


def _group(kit, *cmds) -> list:
    """Run commands as one group commit; each result is (body, status) or the Problem it raised."""
    return group_unit_of_work(kit.ledger.runtime).run(list(cmds))


def _credit(c, payer, payee, amount, key=None):
    body = {"workflow": "credit", "unit": "PT", "counterparty_id": payee, "amount": amount}
    return commands.CreateTransfer(actor=Actor(payer, c, ("resident",)), workflow="credit", unit="PT",
                                   counterparty_id=payee, amount=amount, idempotency_key=key, body=body)


def _confirm(c, member, transfer_id, key=None):
    return commands.ConfirmTransfer(actor=Actor(member, c, ("resident",)), transfer_id=transfer_id,
                                    idempotency_key=key)


def test_a_group_commits_together_and_a_refused_command_changes_nothing(kit):
    c = kit.community()
    kit.join(c, "ann", "bob", "cat")
    kit.fund("ann", c, points=30)
    kit.fund("bob", c, points=5)
    key = uuid.uuid4().hex
    first, second, overdraft, replay, chained = _group(
        kit,
        _credit(c, "ann", "bob", 20, key),
        _credit(c, "bob", "cat", 5),
        _credit(c, "ann", "cat", 11),  # ann has 30, 20 of them now held by the first: refused
        _credit(c, "ann", "bob", 20, key),  # the same key and body again, in the same group: the first answer
        _credit(c, "bob", "ann", 1))  # bob's 5 are held by the second: refused as well
    assert first[1] == 201 and second[1] == 201
    assert isinstance(overdraft, Problem) and overdraft.status == 422
    assert isinstance(chained, Problem) and chained.status == 422
    assert replay == first
    made = {first[0]["transfer_id"], second[0]["transfer_id"]}
    stored = {d["_id"] for d in kit.db.transfers.find({"community_id": c, "workflow": "credit"})}
    assert stored == made
    ann, bob = kit.balance("ann", c, "PT"), kit.balance("bob", c, "PT")
    assert (ann["posted"], ann["pending_out"], ann["available"]) == (30, 20, 10)
    assert (bob["posted"], bob["pending_out"], bob["pending_in"]) == (5, 5, 20)
    pending = kit.log.wait("TransferPending", 2, community_id=c, workflow="credit")
    assert {e["payload"]["transfer_id"] for e in pending} == made

    # The next group: both confirmed, one of them twice, and a stranger's try refused.
    t1, t2 = first[0]["transfer_id"], second[0]["transfer_id"]
    ok1, stranger, ok2, again = _group(kit, _confirm(c, "bob", t1), _confirm(c, "ann", t2), _confirm(c, "cat", t2),
                                       _confirm(c, "bob", t1))
    assert isinstance(stranger, Problem) and stranger.status == 403
    assert ok1[0]["state"] == ok2[0]["state"] == again[0]["state"] == "posted"
    assert kit.db.entries.count_documents({"transfer_id": {"$in": [t1, t2]}}) == 4
    # bob's chain: funded (award) -> credited by ann -> debited to cat, each entry on the one before
    chain = list(kit.db.entries.find({"account_id": f"m:{c}:bob:PT"}).sort("seq", 1))
    assert [e["seq"] for e in chain] == [1, 2, 3]
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in zip(chain, chain[1:]))
    assert [kit.balance(m, c, "PT")["posted"] for m in ("ann", "bob", "cat")] == [10, 20, 5]
    assert len(kit.log.wait("TransferPosted", 2, community_id=c, workflow="credit")) == 2
    assert kit.audit(c)["ok"]


def test_a_confirm_repeated_within_one_group_posts_once(kit):
    c = kit.community()
    kit.join(c, "dan", "eve")
    kit.fund("dan", c, points=10)
    created = _group(kit, _credit(c, "dan", "eve", 4))[0]
    tid = created[0]["transfer_id"]
    confirm_key = uuid.uuid4().hex
    answers = _group(kit, _confirm(c, "eve", tid, confirm_key), _confirm(c, "eve", tid, confirm_key),
                     _confirm(c, "dan", tid))
    assert answers[0] == answers[1] and answers[0][0]["state"] == "posted"
    assert isinstance(answers[2], Problem) and answers[2].status == 403  # the initiator may not confirm
    assert kit.db.entries.count_documents({"transfer_id": tid}) == 2
    assert kit.balance("eve", c, "PT")["posted"] == 4
    assert kit.audit(c)["ok"]


def test_events_of_grouped_commands_carry_each_request_s_correlation_id(kit):
    """The handlers run on the committer thread; each event still names the request that caused it."""
    c = kit.community()
    kit.join(c, "fay", "gus")
    kit.fund("fay", c, points=10)
    sent = []
    for amount in (1, 2):
        cid = "corr-" + uuid.uuid4().hex
        r = kit.http.post("/v1/transfers", json={"workflow": "credit", "unit": "PT", "counterparty_id": "gus",
                                                 "amount": amount},
                          headers=kit.h("fay", c, **{"X-Correlation-ID": cid}))
        assert r.status_code == 201 and r.headers["X-Correlation-ID"] == cid, r.json
        sent.append((r.json["transfer_id"], cid))
    tid, cid = sent[0]
    confirm_cid = "corr-" + uuid.uuid4().hex
    r = kit.http.post(f"/v1/transfers/{tid}/confirm", headers=kit.h("gus", c, **{"X-Correlation-ID": confirm_cid}))
    assert r.status_code == 200 and r.json["state"] == "posted"
    for transfer_id, correlation_id in sent:
        pending = kit.log.wait("TransferPending", transfer_id=transfer_id)[0]
        assert pending["correlation_id"] == correlation_id
    assert kit.log.wait("TransferPosted", transfer_id=tid)[0]["correlation_id"] == confirm_cid


class _Commands(monitoring.CommandListener):
    def __init__(self):
        self.names: list[str] = []
        self.finds: list[str] = []  # the collections read with `find`

    def started(self, event):
        self.names.append(event.command_name)
        if event.command_name == "find":
            self.finds.append(event.command["find"])

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_a_group_reads_everything_in_one_aggregate_even_the_shards_of_the_issuance_account(kit):
    """Awards debit a shard of the hot issuance account: the shard a new award will use and the shards of
    the awards being confirmed are read with the rest of the group, not one find per command."""
    c = kit.community()
    kit.join(c, "ida", "jon", "olga")
    kit.fund("ida", c, points=1)  # opens the issuance account
    config = kit.ledger.runtime.config
    listener = _Commands()
    client = MongoClient(config.mongo_url, tz_aware=True, event_listeners=[listener])
    try:
        group = GroupUnitOfWork(UnitOfWork(client, config.mongo_db, producer="ledger", topic_for=config.topic),
                                {t: HANDLERS[t] for t in GROUPED}, prefetch=prefetch)
        awards = [commands.CreateTransfer(actor=Actor(m, c, ("resident",)), workflow="award", unit="PT", minutes=60,
                                          body={"workflow": "award", "unit": "PT", "minutes": 60},
                                          idempotency_key=uuid.uuid4().hex) for m in ("ida", "jon", "ida")]
        created = group.run(awards)
        confirmed = group.run([commands.ConfirmTransfer(Actor("olga", c, ("organizer",)), body["transfer_id"])
                               for body, _ in created])
        # Credits spend the payer's oldest lots and make the payee one: the lots come with the group's read too.
        credits = group.run([_credit(c, "ida", "jon", 15), _credit(c, "jon", "olga", 4)])
        paid = group.run([_confirm(c, payee, body["transfer_id"]) for payee, (body, _) in zip(("jon", "olga"),
                                                                                              credits)])
    finally:
        client.close()
    assert [body["state"] for body, _ in confirmed] == ["posted"] * 3
    # One aggregate per group reads everything: the books and transfers, and what the points economy decides
    # on (the community's rule versions, each member's summary and lots).
    assert listener.names.count("aggregate") == 4
    assert listener.finds == [], listener.finds
    assert [body["state"] for body, _ in paid] == ["posted"] * 2
    # Plain rules: each award of an hour is exactly 10 points.
    assert [kit.balance(m, c, "PT")["posted"] for m in ("ida", "jon", "olga")] == [1 + 2 * 10 - 15, 10 + 15 - 4, 4]
    lots = {m: sum(d["remaining"] for d in kit.db.point_lots.find({"account_id": f"m:{c}:{m}:PT"}))
            for m in ("ida", "jon", "olga")}
    assert lots == {"ida": 6, "jon": 21, "olga": 4}
    assert kit.audit(c)["ok"]
