"""The minimum redemption threshold (兑换门槛, SPEC §5) where redemptions start: at the till, on a charge and in the
mall alike (`handlers._start_redemption`), before anything is held or announced.

Settlement keeps every version of each community's points rules it hears of (`PointsRulesVersioned` from the
community service; collection `points_rules`) and applies the one in effect now with `shared.economy`'s
`check_redemption`: a member whose spendable points (posted − held by pending redemptions + a credit limit an admin
granted: that overdraft is the community's consent to spend) are below the minimum cannot redeem, and is told the
minimum, what they hold and how far short they are (422 `below_redemption_threshold`; more than they hold at all is
`insufficient_points` first). Before a community publishes rules of its own, the SPEC default (50) applies."""
from __future__ import annotations

from datetime import datetime, timezone

from marshmallow import EXCLUDE, Schema, fields, validate

from shared.consumer import Subscription
from shared.economy import check_redemption, from_document, in_effect
from shared.envelope import Event
from shared.uow import Tx

RULES = "points_rules"


class PointsRulesVersionedSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    community_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    revision = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    effective_from = fields.String(required=True, validate=validate.Length(min=10, max=40))
    rules = fields.Dict(required=True)


def _aware(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def on_points_rules(event: Event, p: dict, tx: Tx) -> None:
    """Keep a version (a later revision of the same version replaces it; an older one changes nothing)."""
    doc_id = f"{p['community_id']}:{p['version']}"
    stored = tx[RULES].find_one({"_id": doc_id}, {"revision": 1})
    if stored is not None and stored["revision"] >= p["revision"]:
        return
    from_document(p["rules"], p["version"], _aware(p["effective_from"]))  # a rule set the model accepts
    tx[RULES].update_one({"_id": doc_id}, {"$set": {"community_id": p["community_id"], "version": p["version"],
                                                    "revision": p["revision"], "rules": p["rules"],
                                                    "effective_from": p["effective_from"]}}, upsert=True)


def rules_now(tx: Tx, community_id: str, now: datetime):
    """The community's rules in effect at `now` (the SPEC defaults before any version of its own)."""
    versions = [from_document(d["rules"], d["version"], _aware(d["effective_from"]))
                for d in tx[RULES].find({"community_id": community_id})]
    return in_effect(versions, now)


def check_threshold(tx: Tx, community_id: str, available: int | None, points: int, now: datetime) -> None:
    """Refuse a redemption by a member with fewer spendable points than the threshold (when settlement knows
    them; None: unknown or unlimited; the ledger still decides the rest)."""
    if available is not None:
        check_redemption(rules_now(tx, community_id, now), available, points)


def subscriptions() -> dict[str, Subscription]:
    return {"PointsRulesVersioned": Subscription(PointsRulesVersionedSchema, on_points_rules)}
