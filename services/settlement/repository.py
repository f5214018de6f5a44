"""MongoDB storage of the settlement service (always inside a unit of work)."""
from __future__ import annotations

from dataclasses import asdict, fields

from pymongo import ReturnDocument

from shared.errors import NotFound
from shared.uow import Tx
from services.settlement.model import Batch, CatalogItem, Charge, Merchant, PayCode, Redemption, SponsorBudget

MERCHANTS, ITEMS, REDEMPTIONS, OUTCOMES = "merchants", "catalog_items", "redemptions", "redemption_outcomes"
BATCHES, LINES, BUDGETS, TOP_UPS = "batches", "batch_lines", "sponsor_budgets", "budget_top_ups"
CHARGEBACKS, CHARGES = "chargebacks", "charges"
COMMUNITIES, MEMBERS = "communities", "members"
ACCOUNTS, TRANSFERS, PAY_CODES = "ledger_accounts", "ledger_transfers", "pay_codes"


def from_doc(cls, doc: dict):
    """A dataclass from a stored document (extra keys such as _id ignored)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in doc.items() if k in names})


def to_doc(obj, id_field: str) -> dict:
    """A stored document for a dataclass, keyed by its id field."""
    data = asdict(obj)
    return {"_id": data[id_field], **data}


class SettlementRepository:
    """Reads and writes the settlement collections through one transaction."""

    def __init__(self, tx: Tx):
        self.tx = tx

    # -- read models of other services ---------------------------------------------------
    def community(self, community_id: str) -> dict:
        """What community.events told us about a community ({} if nothing yet)."""
        return self.tx[COMMUNITIES].find_one({"_id": community_id}) or {}

    def member(self, member_id: str) -> dict | None:
        """What community.events told us about a member."""
        return self.tx[MEMBERS].find_one({"_id": member_id})

    def available_points(self, member_id: str) -> int | None:
        """The member's available PT (posted − pending debits + credit limit), if the ledger told us."""
        account = self.tx[ACCOUNTS].find_one({"owner_kind": "member", "owner_id": member_id, "unit": "PT"})
        if account is None or (account.get("credit_limit") or 0) < 0:  # unknown, or unlimited (-1)
            return None
        return account.get("posted", 0) - account.get("reserved", 0) + (account.get("credit_limit") or 0)

    def pay_code(self, digest: str) -> PayCode | None:
        """A pay code by the SHA-256 of its text."""
        doc = self.tx[PAY_CODES].find_one({"code_sha256": digest})
        return from_doc(PayCode, {**doc, "code_id": doc["_id"]}) if doc else None

    def claim_pay_code(self, code: PayCode, redemption_id: str | None) -> None:
        """Hold (or release, with None) a code for one redemption so a second till use is refused at once."""
        self.tx[PAY_CODES].update_one({"_id": code.code_id}, {"$set": {"claimed_by": redemption_id}})

    # -- merchants and items --------------------------------------------------------------
    def merchant(self, merchant_id: str, community_id: str | None = None) -> Merchant:
        """A merchant (of the community, when given), or 404."""
        query = {"_id": merchant_id}
        if community_id is not None:
            query["community_id"] = community_id
        doc = self.tx[MERCHANTS].find_one(query)
        if doc is None:
            raise NotFound(f"没有这个商户（{merchant_id}）。 No merchant {merchant_id}.", code="unknown_merchant")
        return from_doc(Merchant, doc)

    def add_merchant(self, merchant: Merchant) -> None:
        """Store a new merchant."""
        self.tx[MERCHANTS].insert_one(to_doc(merchant, "merchant_id"))

    def save_merchant(self, merchant: Merchant) -> None:
        """Replace a merchant document."""
        self.tx[MERCHANTS].replace_one({"_id": merchant.merchant_id}, to_doc(merchant, "merchant_id"))

    def item(self, item_id: str, community_id: str | None = None) -> CatalogItem:
        """A catalogue item, or 404."""
        query = {"_id": item_id}
        if community_id is not None:
            query["community_id"] = community_id
        doc = self.tx[ITEMS].find_one(query)
        if doc is None:
            raise NotFound(f"没有这个商品（{item_id}）。 No catalogue item {item_id}.", code="unknown_item")
        return from_doc(CatalogItem, doc)

    def add_item(self, item: CatalogItem) -> None:
        """Store a new catalogue item."""
        self.tx[ITEMS].insert_one(to_doc(item, "item_id"))

    def save_item(self, item: CatalogItem) -> None:
        """Replace a catalogue item document."""
        self.tx[ITEMS].replace_one({"_id": item.item_id}, to_doc(item, "item_id"))

    # -- charges ---------------------------------------------------------------------------
    def charge(self, charge_id: str) -> Charge:
        """A charge (收款码 or property-fee bill) by id, or 404."""
        doc = self.tx[CHARGES].find_one({"_id": charge_id})
        if doc is None:
            raise NotFound(f"找不到这张账单。No charge {charge_id}.", code="unknown_charge")
        return from_doc(Charge, doc)

    def add_charge(self, charge: Charge) -> None:
        """Store a new charge."""
        self.tx[CHARGES].insert_one(to_doc(charge, "charge_id"))

    def save_charge(self, charge: Charge) -> None:
        """Write a charge's changing fields."""
        self.tx[CHARGES].update_one({"_id": charge.charge_id},
                                    {"$set": {"state": charge.state, "redemption_id": charge.redemption_id}})

    # -- redemptions ------------------------------------------------------------------------
    def redemption(self, redemption_id: str) -> Redemption | None:
        """A redemption by id."""
        doc = self.tx[REDEMPTIONS].find_one({"_id": redemption_id})
        return from_doc(Redemption, doc) if doc else None

    def add_redemption(self, redemption: Redemption) -> None:
        """Store a new redemption."""
        self.tx[REDEMPTIONS].insert_one(to_doc(redemption, "redemption_id"))

    def save_redemption(self, redemption: Redemption, **extra) -> None:
        """Write a redemption's changing fields."""
        changes = {k: getattr(redemption, k) for k in ("state", "transfer_id", "reason", "resolved_at", "batch_id",
                                                       "reversal_transfer_id", "reversed_at", "removed_from_batch")}
        self.tx[REDEMPTIONS].update_one({"_id": redemption.redemption_id}, {"$set": {**changes, **extra}})

    def touch_outcome(self, redemption_id: str, **fields_) -> dict:
        """Write the redemption's outcome record and return it.

        Both the till (on create) and the ledger consumer (on every outcome) write this one document, so two
        concurrent transactions on a redemption always conflict and one retries seeing the other: an
        outcome can never slip between "redemption not stored yet" and "redemption stored".
        """
        return self.tx[OUTCOMES].find_one_and_update(
            {"_id": redemption_id}, {"$set": fields_}, upsert=True, return_document=ReturnDocument.AFTER)

    def outcome(self, redemption_id: str) -> dict:
        """The redemption's outcome record as this transaction sees it ({} if none)."""
        return self.tx[OUTCOMES].find_one({"_id": redemption_id}) or {}

    # -- batches and budget -----------------------------------------------------------------
    def unpaid_batches(self, merchant_id: str) -> list[Batch]:
        """The merchant's open and closed (not yet paid) batches, oldest first."""
        return [from_doc(Batch, d) for d in self.tx[BATCHES].find(
            {"merchant_id": merchant_id, "state": {"$in": ["open", "closed"]}}).sort([("created_at", 1), ("_id", 1)])]

    def remove_line(self, redemption_id: str) -> None:
        """Take a reversed redemption's line out of its (unpaid) batch."""
        self.tx[LINES].delete_one({"_id": redemption_id})

    def add_chargeback(self, doc: dict) -> None:
        """Record a paid redemption's reversal, to be charged back (inserted once: keyed by the redemption)."""
        self.tx[CHARGEBACKS].insert_one(doc)

    def pending_chargebacks(self, merchant_id: str, cutoff) -> list[dict]:
        """Chargebacks of the merchant no batch has taken yet, reversed before cutoff."""
        return list(self.tx[CHARGEBACKS].find({"merchant_id": merchant_id, "batch_id": None,
                                               "reversed_at": {"$lt": cutoff}}))

    def assign_chargebacks(self, ids: list[str], batch_id: str) -> int:
        """Put chargebacks on a batch (only those on none); returns how many."""
        if not ids:
            return 0
        return self.tx[CHARGEBACKS].update_many({"_id": {"$in": ids}, "batch_id": None},
                                                {"$set": {"batch_id": batch_id}}).modified_count

    def open_batch(self, merchant_id: str) -> Batch | None:
        """The merchant's open (drafted, not closed) batch."""
        doc = self.tx[BATCHES].find_one({"merchant_id": merchant_id, "state": "open"})
        return from_doc(Batch, doc) if doc else None

    def batch(self, batch_id: str, community_id: str | None = None) -> Batch:
        """A batch, or 404."""
        query = {"_id": batch_id}
        if community_id is not None:
            query["community_id"] = community_id
        doc = self.tx[BATCHES].find_one(query)
        if doc is None:
            raise NotFound(f"没有这个结算批次（{batch_id}）。 No settlement batch {batch_id}.", code="unknown_batch")
        return from_doc(Batch, doc)

    def unbatched_completed(self, merchant_id: str, cutoff) -> list[dict]:
        """Completed redemptions of the merchant not in any batch, resolved before cutoff."""
        return list(self.tx[REDEMPTIONS].find(
            {"merchant_id": merchant_id, "state": "completed", "batch_id": None, "resolved_at": {"$lt": cutoff}}))

    def assign_to_batch(self, redemption_ids: list[str], batch_id: str) -> int:
        """Mark redemptions as settled in `batch_id` (only those in no batch); returns how many."""
        result = self.tx[REDEMPTIONS].update_many({"_id": {"$in": redemption_ids}, "batch_id": None},
                                                  {"$set": {"batch_id": batch_id}})
        return result.modified_count

    def add_lines(self, lines: list[dict]) -> None:
        """Store batch lines; the redemption id is the key, so no redemption is ever on two lines."""
        if lines:
            self.tx[LINES].insert_many([{"_id": line["redemption_id"], **line} for line in lines], ordered=False)

    def add_batch(self, batch: Batch) -> None:
        """Store a new batch."""
        self.tx[BATCHES].insert_one(to_doc(batch, "batch_id"))

    def save_batch(self, batch: Batch) -> None:
        """Replace a batch document."""
        self.tx[BATCHES].replace_one({"_id": batch.batch_id}, to_doc(batch, "batch_id"))

    def budget(self, community_id: str) -> SponsorBudget:
        """The community's sponsor budget (zero if never topped up)."""
        doc = self.tx[BUDGETS].find_one({"_id": community_id})
        return from_doc(SponsorBudget, doc) if doc else SponsorBudget(community_id)

    def save_budget(self, budget: SponsorBudget) -> None:
        """Write the sponsor budget."""
        self.tx[BUDGETS].replace_one({"_id": budget.community_id}, to_doc(budget, "community_id"), upsert=True)

    def add_top_up(self, record: dict) -> None:
        """Keep the record of a top-up."""
        self.tx[TOP_UPS].insert_one(record)
