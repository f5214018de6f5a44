"""Ledger service: double-entry accounts, two-party transfers, hash-chained journal, audit."""
