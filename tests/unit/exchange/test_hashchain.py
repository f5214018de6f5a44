"""The Credit Commons hash chain against the published vectors (protocol notes §7c), byte for byte."""
from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from services.exchange.hashchain import chain_input, js_number, next_hash, relay_hash

UUID = "3d8ebb9f-6a29-42cb-9d39-9ee0a6bf7f1c"
LEAF = "test long distance for 3 from leaf"
FEES = [{"quant": 14, "description": LEAF}, {"quant": 2, "description": "Payee fee of 1 to twig/admin"},
        {"quant": 3, "description": "Payee fee of 1 to branch/admin"},
        {"quant": 1, "description": "Payee fee of 1 to trunk/admin"}]


def test_the_published_vector():
    body = {"uuid": UUID, "state": "V", "workflow": "|P-PC+CX+",
            "entries": [{"payee": "trunk/branch2/twig2/bob", "payer": "trunk/branch/twig/alice", "quant": 0.01,
                         "description": LEAF, "metadata": {}}]}
    assert chain_input("trunk", UUID, "V", body["entries"]) == \
        "trunk|3d8ebb9f-6a29-42cb-9d39-9ee0a6bf7f1c|V|0.01|test long distance for 3 from leaf|"
    assert relay_hash("trunk", body) == "196bf56fdf9c2b747a20b8604b7b1f61"


def test_the_vectors_with_fee_entries():
    assert next_hash("trunk", UUID, "V", FEES) == "15bfc7d0cff9160fe34cf541b7da56c3"
    assert next_hash("trunk", "existing", "V", FEES) == "3ced727f8f2df10189520c0dd78e0fad"
    # Floats that are whole numbers hash like integers (JavaScript prints 14, not 14.0).
    assert next_hash("trunk", UUID, "V", [{**e, "quant": float(e["quant"])} for e in FEES]) == \
        "15bfc7d0cff9160fe34cf541b7da56c3"


def test_a_chain_links_each_hash_to_the_previous_and_the_version_is_hashed_when_present():
    first = relay_hash("trunk", {"uuid": "u1", "state": "V", "entries": [{"quant": 1.5, "description": "a"}]})
    second = relay_hash(first, {"uuid": "u2", "state": "V", "version": 1, "entries": [{"quant": 2, "description": "b"}]})
    assert second == hashlib.md5(f"{first}|u2|V|2|b|1".encode()).hexdigest()
    # The 0.8 dialect: the state as written and the saved version.
    assert chain_input("", "u3", "completed", [{"quant": 10, "description": "x"}], 2) == "|u3|completed|10|x|2"


def test_descriptions_are_hashed_as_utf8():
    assert next_hash("trunk", "u", "V", [{"quant": 3, "description": "帮老人买菜"}]) == \
        hashlib.md5("trunk|u|V|3|帮老人买菜|".encode("utf-8")).hexdigest()


@pytest.mark.parametrize("value, printed", [
    (14, "14"), (14.0, "14"), (0.01, "0.01"), (0.1, "0.1"), (-1.5, "-1.5"), (0, "0"), (-0.0, "0"),
    (123.456, "123.456"), (0.1 + 0.2, "0.30000000000000004"), (1e20, "100000000000000000000"),
    (1e21, "1e+21"), (1.5e22, "1.5e+22"), (0.000001, "0.000001"), (1e-7, "1e-7"), (1.5e-10, "1.5e-10"),
    (2**53, "9007199254740992"), (Decimal("2.50"), "2.5"), ("0.010", "0.01"), (100, "100"),
])
def test_numbers_print_as_in_javascript(value, printed):
    assert js_number(value) == printed


def test_a_boolean_is_not_a_quantity():
    with pytest.raises(TypeError):
        js_number(True)
