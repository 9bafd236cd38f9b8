"""Month-to-month continuity (``analytics.ingest.continuity``) on tiny hand-built snapshots."""

from __future__ import annotations

import datetime as dt

from analytics.ingest import continuity
from analytics.ingest.problems import cap
from tests.ingest.rows import FEB, JAN, D, frame, snap


def test_continuity_passes_with_exit_rows_and_is_capped_with_the_total():
    paid = {"status": "paid_off", "outstanding_principal": D("0.00")}
    ok = frame("snapshots", [snap(month=JAN), snap(month=JAN, loan_id="L2"), snap(month=FEB),
                             snap(month=FEB, loan_id="L2", **paid)])
    assert continuity.continuity_problems(ok).is_empty()
    gone = frame("snapshots", [snap(month=JAN, loan_id=f"L{i}") for i in range(5)] + [snap(month=FEB, loan_id="L0")])
    problems = cap(continuity.continuity_problems(gone), 2)
    assert problems["value"].to_list() == ["L1", "L2", "4"]
    assert problems["rule"].to_list() == ["vanished", "vanished", "too_many"]


def test_continuity_limited_to_given_months():
    rows = frame("snapshots", [snap(month=JAN), snap(month=JAN, loan_id="L2"), snap(month=FEB),
                               snap(month=FEB, loan_id="L3"), snap(month=dt.date(2024, 3, 1))])
    assert continuity.continuity_problems(rows)["value"].to_list() == ["L2", "L3"]  # L2 Jan->Feb, L3 Feb->Mar
    assert continuity.continuity_problems(rows, months=[JAN])["value"].to_list() == ["L2"]
    assert continuity.continuity_problems(rows, months=[dt.date(2024, 3, 1)])["value"].to_list() == ["L3"]
