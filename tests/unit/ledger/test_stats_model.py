"""The economy statistics' arithmetic (services/ledger/stats_model.py), worked by hand."""
from __future__ import annotations

import random

from shared.economy import health
from services.ledger.stats_model import (Move, concentration, month_rows, months_between, moves, pseudonym, ranked,
                                         share)

C = "c1"


def test_an_award_issues_and_earns_board_points_and_its_reversal_takes_both_back():
    assert moves("s:c1:issuance:PT", "m:c1:ann:PT", 30, award=True) == [Move("m:c1:ann:PT", "issued", 30, 30, 30)]
    assert moves("m:c1:ann:PT", "s:c1:issuance:PT", 30, reverses_award=True) == [
        Move("m:c1:ann:PT", "issued", -30, -30, -30)]


def test_redemption_expiry_penalty_and_repair_each_count_in_their_flow():
    assert moves("m:c1:ann:PT", "x:c1:shop:PT", 15) == [Move("m:c1:ann:PT", "redeemed", 15, -15, 0)]
    assert moves("x:c1:shop:PT", "m:c1:ann:PT", 15) == [Move("m:c1:ann:PT", "redeemed", -15, 15, 0)]
    assert moves("m:c1:ann:PT", "s:c1:expiry:PT", 7) == [Move("m:c1:ann:PT", "expired", 7, -7, 0)]
    assert moves("m:c1:bob:PT", "s:c1:penalty:PT", 10) == [Move("m:c1:bob:PT", "penalised", 10, -10, 0)]
    assert moves("s:c1:penalty:PT", "m:c1:bob:PT", 4) == [Move("m:c1:bob:PT", "penalised", -4, 4, 0)]  # repair


def test_between_members_no_flow_moves_but_both_balances_do():
    assert moves("m:c1:ann:PT", "m:c1:bob:PT", 5) == [Move("m:c1:bob:PT", None, 0, 5, 0),
                                                        Move("m:c1:ann:PT", None, 0, -5, 0)]
    assert moves("x:c1:shop:PT", "s:c1:sponsor:PT", 100) == []  # settlement: no member, nothing


def test_month_rows_carry_outstanding_from_the_opening():
    # Opening 100. Jan: +50 −20 −5 −3 → 122. Feb: nothing → 122. Mar: +10 → 132.
    flows = {"2026-01": {"issued": 50, "redeemed": 20, "expired": 5, "penalised": 3}, "2026-03": {"issued": 10}}
    rows = month_rows(months_between("2026-01", "2026-03"), flows, 100)
    assert [(r["month"], r["outstanding"]) for r in rows] == [("2026-01", 122), ("2026-02", 122), ("2026-03", 132)]
    assert rows[1] == {"month": "2026-02", "issued": 0, "redeemed": 0, "expired": 0, "penalised": 0,
                       "outstanding": 122}


def test_months_between_crosses_the_year():
    assert months_between("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert months_between("2026-03", "2026-03") == ["2026-03"]


def test_concentration_of_four_holders_by_hand():
    # Balances 6, 25, 35, 50 (Σ 116). Top 10 % of 4 = 0.4 → 1 member: 50/116 = 0.431034… → 0.4310.
    # Gini = (−3·6 − 1·25 + 1·35 + 3·50) / (4·116) = 142/464 = 0.306034… → 0.3060.
    assert concentration([(6, 1), (25, 1), (35, 1), (50, 1)]) == {"holders": 4, "top10_share": "0.4310",
                                                                   "gini": "0.3060"}


def test_concentration_of_runs_of_equal_balances_by_hand():
    # 18 members hold 10, 2 hold 100 (n 20, Σ 380). Top 10 % = 2 members: 200/380 = 0.526315… → 0.5263.
    # Gini: the run of 18 at 10 (s=0): 10·18·(0+18−20) = −360; the run of 2 at 100 (s=18): 100·2·(36+2−20) =
    # 3600; (3600 − 360) / (20·380) = 3240/7600 = 0.426315… → 0.4263.
    assert concentration([(100, 2), (10, 18), (0, 5)]) == {"holders": 20, "top10_share": "0.5263",
                                                             "gini": "0.4263"}


def test_concentration_is_the_health_figures_over_the_expanded_balances():
    rng = random.Random(7)
    histogram = {rng.randint(1, 300): rng.randint(1, 40) for _ in range(60)}
    balances = [v for v, c in histogram.items() for _ in range(c)]
    got = concentration(histogram.items())
    assert got["gini"] == str(health.gini(balances))
    assert f"{float(got['top10_share']) * 100:.2f}" == f"{health.top_share(balances):.2f}"


def test_nobody_holding_points_has_no_shares():
    assert concentration([]) == {"holders": 0, "top10_share": None, "gini": None}


def test_shares_round_half_even_to_four_places():
    assert share(1, 8) == "0.1250" and share(1, 3) == "0.3333"
    assert share(5, 100000) == "0.0000" and share(15, 100000) == "0.0002"  # 0.00005 → 0.0000, 0.00015 → 0.0002


def test_equal_points_share_a_rank():
    rows = ranked([{"points": 50}, {"points": 50}, {"points": 25}, {"points": 12}, {"points": 12}])
    assert [r["rank"] for r in rows] == [1, 1, 3, 4, 4]


def test_a_pseudonym_is_stable_and_differs_between_communities_and_members():
    assert pseudonym("c1", "ann") == pseudonym("c1", "ann")
    assert pseudonym("c1", "ann") != pseudonym("c2", "ann") and pseudonym("c1", "ann") != pseudonym("c1", "bob")
    assert pseudonym("c1", "ann")["zh-CN"].startswith("志愿者 ") and "ann" not in str(pseudonym("c1", "ann"))
