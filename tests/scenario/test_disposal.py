"""Disposal of secured NPLs: auction, restructuring and transfer values per loan (hand-computed)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from analytics.core import store
from analytics.scenario import disposal as dp
from tests import tiny

LOANS = pl.DataFrame({"loan_id": ["a", "b", "c"], "balance": [100_000.0, 100_000.0, 100_000.0],
                      "collateral_value": [150_000.0, 40_000.0, None]})
A = dp.Assumptions()  # haircut .30, costs .05, auction 18 months, restructuring 12, cure .30, transfer .45, r 5%


def test_routes_by_hand():
    out = dp.routes(LOANS, A, cure=0.30).sort("loan_id")
    # proceeds = collateral × (1 − .30 − .05), capped at the claim: a 97,500; b 26,000; c 0 (no collateral value)
    assert out["auction_proceeds"].to_list() == pytest.approx([97_500, 26_000, 0])
    # auction PV = proceeds ÷ 1.05^(18/12): a 97,500 ÷ 1.075930 = 90,619.2
    assert out["pv_auction"][0] == pytest.approx(97_500 / 1.05 ** 1.5)
    # restructuring PV = .3 × 100,000 ÷ 1.05 + .7 × proceeds ÷ 1.05^(30/12): a 28,571.4 + 60,413.1 = 88,984.5
    assert out["pv_restructure"][0] == pytest.approx(0.3 * 100_000 / 1.05 + 0.7 * 97_500 / 1.05 ** 2.5)
    assert out["pv_restructure"][0] == pytest.approx(88_984.5, abs=1)
    # transfer = 45% of the claim, now
    assert out["pv_transfer"].to_list() == pytest.approx([45_000] * 3)
    # best: a auction (90,619 > 88,984 > 45,000); b transfer (45,000 > 44,681 > 24,165); c transfer (45,000 > 28,571)
    assert out["best_route"].to_list() == ["auction", "transfer", "transfer"]
    tot = {r["route"]: r for r in dp.totals(out).iter_rows(named=True)}
    assert tot["best"]["pv"] == pytest.approx(97_500 / 1.05 ** 1.5 + 45_000 + 45_000)
    assert tot["transfer"]["recovery_rate"] == pytest.approx(0.45)


def test_higher_transfer_price_moves_the_best_route():
    out = dp.routes(LOANS, dp.Assumptions(transfer_price=0.95), cure=0.30)
    assert set(out["best_route"]) == {"transfer"}


def test_observed_cure_and_the_default(tmp_path):
    months = [dt.date(2025, m, 1) for m in range(1, 13)] + [dt.date(2026, 1, 1), dt.date(2026, 2, 1)]
    loans = [{"loan_id": "R1", "guarantee_type": "mortgage"}, {"loan_id": "R2", "guarantee_type": "mortgage"}]
    snaps = []
    for m in months:
        cured = m >= dt.date(2025, 6, 1)
        snaps.append({"month": m, "loan_id": "R1", "outstanding_principal": Decimal("1000"),
                      "dpd": 0 if cured else 120, "booked_class": 2 if cured else 3, "restructured": True})
        snaps.append({"month": m, "loan_id": "R2", "outstanding_principal": Decimal("1000"), "dpd": 200,
                      "booked_class": 4, "restructured": True, "collateral_value": Decimal("3000")})
    con = store.connect(tiny.write_store(tmp_path, loans, snaps))
    seen = dp.observed_cure(con, month=dt.date(2026, 2, 1))
    assert seen == {"restructured": 2, "cured": 1}  # R1 back to 关注 with DPD 0 in June 2025, R2 never
    assert dp.cure_probability(seen, A) == A.cure_default  # 2 < MIN_N restructurings: the assumption is used
    assert dp.cure_probability({"restructured": 40, "cured": 10}, A) == 0.25
    out = dp.compare(con, month=dt.date(2026, 2, 1))
    assert out["loans"]["loan_id"].to_list() == ["R2"]  # R1 is no longer NPL
    con.close()
