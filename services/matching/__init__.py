"""Matching service: a read model built from community, requests and ledger events, and explained suggestions."""
