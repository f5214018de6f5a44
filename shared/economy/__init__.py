"""The points economy's pure rules (SPEC §5), shared by the community service (which owns the versioned rule
sets), the ledger (which applies them to awards, lots, penalties and repairs) and the rules simulator.
No I/O here: no MongoDB, no Kafka, no Flask. See README.md for every rule, the order and worked examples."""
from shared.economy.award import HELD, PAYABLE, Activity, Award, History, Item, compute, next_streak
from shared.economy.explain import explain, render, words
from shared.economy.rules import DEFAULT_RULES, RuleSet, diff, from_document, in_effect
from shared.economy.wallet import (Lot, Penalty, Wallet, check_loan, check_redemption, expiry_date, honour_level,
                                   penalty_amount, repairable)

__all__ = ["HELD", "PAYABLE", "Activity", "Award", "History", "Item", "compute", "next_streak", "explain", "render", "words",
           "DEFAULT_RULES", "RuleSet", "diff", "from_document", "in_effect", "Lot", "Penalty", "Wallet",
           "check_loan", "check_redemption", "expiry_date", "honour_level", "penalty_amount", "repairable"]
