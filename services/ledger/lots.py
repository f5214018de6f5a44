"""A member's points as stored: FIFO lots (`point_lots`) and the economy summary (`member_economy`: the award
history the rules need, lifetime honour points, the level reached, points owed). Loads and saves through the
transaction's identity map and deferred writes (the rules of `shared.groupcommit`), like the repository; the
arithmetic is `shared.economy.Wallet`'s.

`on_posted` keeps the lots true to the books in the transaction that posts a PT transfer: a credit to a member
makes a lot (earned on the community's local day, expiring per the rules in effect then), a debit spends the
oldest lots first. Moves that manage their own lots (expiry, penalty, repair: `SELF_MANAGED`) are skipped. The
part of a credit that repays a points loan (a posted balance below zero) makes no lot, and the part of a debit the
lots do not cover draws on the loan, so the lots always hold max(posted, 0)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from types import MappingProxyType

from pymongo import InsertOne, UpdateOne

from shared.economy import RuleSet, Wallet, from_document, honour_level, in_effect
from shared.economy.periods import zone_day  # also imported from here by economy_views and the scheduler
from shared.economy.wallet import Lot
from services.ledger import model, stats
from services.ledger.model import Transfer
from services.ledger.repository import LedgerRepository

LOTS, SUMMARIES, RULES = "point_lots", "member_economy", "points_rules"
SELF_MANAGED = ("expiry", "penalty", "repair", "appeal_penalty")  # reference kinds whose handlers move the lots themselves
EMPTY_SUMMARY = MappingProxyType({"participations": 0, "streak": 0, "last_day": None, "day": None, "earned_today": 0,
                                  "year": None, "earned_this_year": 0, "honour_points": 0, "level": 0, "debt": 0})


# -- time and rules -----------------------------------------------------------------------------------
def aware(text: str) -> datetime:
    """An ISO time as an aware datetime (UTC when it names no offset)."""
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def local_day(repo: LedgerRepository, community_id: str, at: datetime) -> date:
    """The community's calendar day at `at` (its time zone, Asia/Shanghai unless it chose another)."""
    return zone_day(repo.community(community_id).get("timezone"), at)


def rule_set(doc: dict) -> RuleSet:
    """A stored version of a community's rules."""
    return from_document(doc["rules"], doc["version"], aware(doc["effective_from"]))


def rule_versions(repo: LedgerRepository, community_id: str) -> tuple[RuleSet, ...]:
    """Every version of the community's points rules the ledger heard of (read once per transaction)."""
    key = (RULES, community_id)
    if key not in repo.cache:
        repo.cache[key] = tuple(rule_set(d) for d in repo.tx[RULES].find({"community_id": community_id}))
    return repo.cache[key]


def rules_at(repo: LedgerRepository, community_id: str, at: datetime) -> RuleSet:
    """The rules in effect at `at` (the SPEC defaults, version 0, before any version of the community's)."""
    return in_effect(list(rule_versions(repo, community_id)), at)


def store_rule_version(repo: LedgerRepository, p: dict) -> bool:
    """Keep a published version (a later revision of the same version replaces it); False for a stale one."""
    doc_id = f"{p['community_id']}:{p['version']}"
    stored = repo.tx[RULES].find_one({"_id": doc_id}, {"revision": 1})
    if stored is not None and stored["revision"] >= p["revision"]:
        return False
    values = {"community_id": p["community_id"], "version": p["version"], "revision": p["revision"],
              "effective_from": p["effective_from"], "rules": p["rules"]}
    added = from_document(p["rules"], p["version"], aware(p["effective_from"]))  # checks it
    others = tuple(v for v in rule_versions(repo, p["community_id"]) if v.version != p["version"])
    repo.tx.defer(RULES, UpdateOne({"_id": doc_id}, {"$set": values}, upsert=True))
    repo.cache[(RULES, p["community_id"])] = (*others, added)
    return True


# -- the summary ------------------------------------------------------------------------------------
def summary(repo: LedgerRepository, account_id: str) -> MappingProxyType:
    """The member's economy summary (empty until their first award)."""
    key = (SUMMARIES, account_id)
    if key not in repo.cache:
        repo.cache[key] = _summary_of(repo.tx[SUMMARIES].find_one({"_id": account_id}))
    return repo.cache[key]


def _summary_of(doc: dict | None) -> MappingProxyType:
    return MappingProxyType({**EMPTY_SUMMARY, **(doc or {})})


def save_summary(repo: LedgerRepository, account_id: str, **changes) -> MappingProxyType:
    """Store changed summary fields (upserted, with the account's community and member)."""
    community_id, member_id = account_id.split(":")[1:3]
    after = MappingProxyType({**summary(repo, account_id), **changes})
    repo.cache[(SUMMARIES, account_id)] = after
    repo.tx.defer(SUMMARIES, UpdateOne({"_id": account_id}, {"$set": {**changes, "community_id": community_id,
                                                                       "member_id": member_id}}, upsert=True))
    return after


def remember_grid(repo: LedgerRepository, community_id: str, member_id: str, grid_id: str | None) -> None:
    """The member's grid (网格), from the community's events: a grid worker acts on the members of theirs."""
    account_id = model.member_account_id(community_id, member_id, "PT")
    if summary(repo, account_id).get("grid_id") != grid_id:
        save_summary(repo, account_id, grid_id=grid_id)


# -- the wallet ---------------------------------------------------------------------------------------
def to_lot(doc: dict) -> Lot:
    """A Lot from its stored document."""
    return Lot(doc["_id"], date.fromisoformat(doc["earned_on"]),
               date.fromisoformat(doc["expires_on"]) if doc["expires_on"] else None, doc["amount"], doc["remaining"],
               doc["rule_version"], doc["source"])


def wallet(repo: LedgerRepository, account_id: str) -> Wallet:
    """The member's lots that still hold points (oldest first) and the points they owe."""
    key = (LOTS, account_id)
    if key not in repo.cache:
        repo.cache[key] = _wallet_of(repo.tx[LOTS].find({"account_id": account_id, **HOLDING}))
    return replace(repo.cache[key], debt=summary(repo, account_id)["debt"])


HOLDING = {"remaining": {"$gt": 0}}  # the lots a wallet holds


def _wallet_of(docs) -> Wallet:
    return Wallet(tuple(sorted((to_lot(d) for d in docs), key=lambda lot: (lot.earned_on, lot.lot_id))))


def remember(repo: LedgerRepository, docs: dict, lot_accounts, summary_accounts, communities) -> None:
    """What one read of a whole group brought (reads.prefetch): the holding lots (`docs["lots"]`) of
    `lot_accounts`, the summaries (`docs["summaries"]`) of `summary_accounts`, the rule versions
    (`docs["rules"]`) of `communities`, kept in the identity map as wallet(), summary() and rule_versions()
    would read them, so the group's commands read none of them again."""
    grouped: dict = {}
    for name, field in (("lots", "account_id"), ("summaries", "_id"), ("rules", "community_id")):
        for doc in docs.get(name, ()):
            grouped.setdefault((name, doc[field]), []).append(doc)
    for account_id in lot_accounts:
        repo.cache.setdefault((LOTS, account_id), _wallet_of(grouped.get(("lots", account_id), ())))
    for account_id in summary_accounts:
        repo.cache.setdefault((SUMMARIES, account_id), _summary_of(grouped.get(("summaries", account_id), [None])[0]))
    for community_id in communities:
        repo.cache.setdefault((RULES, community_id), tuple(rule_set(d) for d in grouped.get(("rules", community_id),
                                                                                          ())))


def save_wallet(repo: LedgerRepository, account_id: str, after: Wallet, transfer_id: str) -> None:
    """Store what changed in the member's lots: new lots inserted, spent ones updated from the remainder this
    transaction read (a guard that must match), emptied ones kept (with `remaining` 0) for the record."""
    before = {lot.lot_id: lot for lot in wallet(repo, account_id).lots}
    community_id, member_id = account_id.split(":")[1:3]
    for lot in after.lots:
        old = before.get(lot.lot_id)
        if old is None:
            repo.tx.defer(LOTS, InsertOne({**lot.to_dict(), "_id": lot.lot_id, "account_id": account_id,
                                           "community_id": community_id, "member_id": member_id,
                                           "transfer_id": transfer_id}))
        elif old.remaining != lot.remaining:
            repo.tx.defer(LOTS, UpdateOne({"_id": lot.lot_id, "remaining": old.remaining},
                                          {"$set": {"remaining": lot.remaining}}), must_match=True)
    stats.lots_moved(repo.tx, account_id, before, after.lots)  # points expiring per day (the read model)
    repo.cache[(LOTS, account_id)] = replace(after, lots=tuple(lot for lot in after.lots if lot.remaining),
                                             debt=0)
    if after.debt != summary(repo, account_id)["debt"]:
        save_summary(repo, account_id, debt=after.debt)


def lot_id(transfer_id: str, now: datetime) -> str:
    """A lot's id: when it was made (ms), then the transfer, so lots earned the same day go oldest first."""
    return f"l{int(now.timestamp() * 1000):014d}_{transfer_id}"


# -- keeping the lots true to the books ---------------------------------------------------------------
def is_member(account_id: str) -> bool:
    return account_id.startswith("m:")


def on_posted(repo: LedgerRepository, t: Transfer, now: datetime) -> list[dict]:
    """The lot moves of a posted PT transfer (see the module docstring); the explanation items."""
    if t.unit != "PT" or (t.reference or {}).get("kind") in SELF_MANAGED:
        return []
    items = []
    cross = t.cross or {}  # across communities each side moves its own amount, in its own community
    if is_member(t.debit_account):
        items += spend(repo, t.debit_account, cross.get("debit_amount", t.amount), t.transfer_id)
    if is_member(t.credit_account):
        items += earn(repo, t, now, cross.get("credit_amount", t.amount), cross.get("payee_community",
                                                                                      t.community_id))
    return items


def spend(repo: LedgerRepository, account_id: str, amount: int, transfer_id: str) -> list[dict]:
    """Spend `amount` from the member's oldest lots (what they do not cover draws on a points loan)."""
    held = wallet(repo, account_id)
    covered = min(amount, held.balance)
    if not covered:
        return []
    after, items = held.spend(covered)
    save_wallet(repo, account_id, after, transfer_id)
    return items


def earn(repo: LedgerRepository, t: Transfer, now: datetime, received: int, community_id: str) -> list[dict]:
    """A lot for the `received` points a member of `community_id` got (less what repays a points loan); an award
    adds honour points."""
    account_id = t.credit_account
    posted_before = repo.account(account_id).posted - received
    amount = received - min(received, max(0, -posted_before))
    rules = rules_at(repo, community_id, now)
    award = t.details.get("award") if t.workflow == "award" else None
    # An award's points are earned on the day of the activity; anything else on the day it arrives.
    earned_on = date.fromisoformat(award["activity_day"]) if award else local_day(repo, community_id, now)
    items = []
    if amount:
        after, items = wallet(repo, account_id).earn(lot_id(t.transfer_id, now), amount, earned_on, rules)
        save_wallet(repo, account_id, after, t.transfer_id)
    if t.workflow == "award":
        honour = summary(repo, account_id)["honour_points"] + t.amount
        level = honour_level(rules, honour)
        changes = {"honour_points": honour}
        if level["level"] > summary(repo, account_id)["level"]:
            changes.update(level=level["level"], title_zh=level["title_zh"], title_en=level["title_en"],
                           level_reached_at=now, level_rule_version=rules.version)
            items.append({"code": "level_reached", "points": 0, "level": level["level"],
                          "title_zh": level["title_zh"], "title_en": level["title_en"], "honour_points": honour,
                          "rule_version": rules.version})
        save_summary(repo, account_id, **changes)
    return items


def on_closed(repo: LedgerRepository, t: Transfer) -> None:
    """An award closed unpaid no longer counts towards the member's participations and caps."""
    award = t.details.get("award")
    if t.workflow != "award" or t.unit != "PT" or not award:
        return
    account_id = member_account_of(t)
    s = summary(repo, account_id)
    day = date.fromisoformat(award["activity_day"])
    changes = {"participations": max(0, s["participations"] - 1)}
    if s["day"] == day.isoformat():
        changes["earned_today"] = max(0, s["earned_today"] - t.amount)
    if s["year"] == day.year:
        changes["earned_this_year"] = max(0, s["earned_this_year"] - t.amount)
    save_summary(repo, account_id, **changes)


def member_account_of(t: Transfer) -> str:
    """The PT account of the member a transfer pays (awards)."""
    return model.member_account_id(t.community_id, t.payee_id, "PT")
