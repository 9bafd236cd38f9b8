"""Demo portfolio generator: ``python -m analytics.tools.demo``.

Simulates a Chinese bank's retail and small-business loan book month by month (vectorised
numpy, one loop over months) and writes every contract table into the Parquet store.
The book carries stories worth finding on the pages: a bad origination quarter, a macro
shock, Spring Festival seasonality, branches of different quality, one branch that books
90+ DPD loans as 关注, write-offs, transfers, foreclosures and restructurings.
See ``docs/demo-data.md`` for the model, its parameters and the invariants.

Money is simulated in integer cents so every balance identity holds to the cent.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from analytics import derived
from analytics.core import schema, store
from analytics.core.months import from_index as month_date
from analytics.core.months import month_index
from analytics.core.rules import DEFAULT_FLOOR

DEFAULT_LOANS = 60_000
DEFAULT_MONTHS = 36
DEFAULT_SEED = 42
DEFAULT_END_MONTH = dt.date(2026, 10, 1)
BURN_IN_MONTHS = 24  # simulated before the window so its first month has a seasoned delinquency mix
BACK_BOOK_MONTHS = 36  # weight of the pre-simulation book against originations, in months of volume

# --- calendar ---------------------------------------------------------------------------------


def _first_day(index: np.ndarray | int) -> np.ndarray:
    """Days since 1970-01-01 of the first day of month ``index``."""
    months = np.asarray(index, dtype=np.int64) - 1970 * 12
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _month_end(index: np.ndarray | int) -> np.ndarray:
    return _first_day(np.asarray(index) + 1) - 1


def monthly_interest(balance_cents: np.ndarray, annual_rate: np.ndarray) -> np.ndarray:
    """The month's contractual interest in cents: previous month-end principal × rate / 12, half up.

    Interest accrues on the whole outstanding principal (overdue part included); no penalty interest.
    """
    return np.floor(balance_cents * annual_rate / 12 + 0.5).astype(np.int64)


# --- the book's parameters ------------------------------------------------------------------------

MORTGAGE_CAUSES = {"income_drop": .38, "illness": .12, "business_difficulty": .14, "over_indebted": .12,
                   "willingness": .07, "dispute": .09, "other": .08}
CONSUMER_CAUSES = {"over_indebted": .36, "income_drop": .30, "illness": .07, "willingness": .13,
                   "business_difficulty": .04, "dispute": .04, "other": .06}
BUSINESS_CAUSES = {"business_difficulty": .55, "income_drop": .04, "illness": .04, "over_indebted": .12,
                   "willingness": .09, "dispute": .10, "other": .06}


@dataclass(frozen=True)
class Product:
    share: float  # share of loans by count
    principal: tuple[float, float, float]  # min, median, max in yuan (credit limit for cards)
    terms: tuple[int, ...]  # months, drawn uniformly
    rate: tuple[float, float]  # annual rate range; riskier borrowers priced higher
    methods: dict[str, float]
    guarantees: dict[str, float]
    c_m1: float  # monthly current -> M1 probability for an average seasoned borrower
    cure: float  # multiplier of the cure probabilities out of delinquency
    prepay: float  # monthly full-prepayment probability
    fraud: float  # share of new loans that never pay (first-payment default)
    restructure: float  # monthly restructuring probability of a loan 2-4 instalments behind
    causes: dict[str, float]


PRODUCTS: dict[str, Product] = {
    "mortgage": Product(.17, (3e5, 9e5, 3e6), (120, 180, 240, 300, 360), (.035, .045),
                        {"annuity": .75, "equal_principal": .25}, {"mortgage": 1.0},
                        .0035, 1.3, .006, 0, .02, MORTGAGE_CAUSES),
    "housing_fund": Product(.07, (2e5, 5e5, 1.2e6), (120, 180, 240, 300, 360), (.026, .031),
                            {"annuity": .7, "equal_principal": .3}, {"mortgage": 1.0},
                            .0025, 1.4, .004, 0, .01, MORTGAGE_CAUSES),
    "consumer": Product(.28, (1e4, 5e4, 3e5), (12, 24, 36, 48, 60), (.06, .15),
                        {"annuity": .65, "equal_principal": .15, "interest_only": .2},
                        {"credit": .9, "guarantee": .1},
                        .016, .9, .015, .004, .01, CONSUMER_CAUSES),
    "personal_business": Product(.12, (1e5, 5e5, 3e6), (12, 24, 36, 48, 60), (.04, .08),
                                 {"interest_only": .4, "annuity": .4, "equal_principal": .2},
                                 {"mortgage": .5, "guarantee": .35, "credit": .15},
                                 .011, .8, .01, .003, .05, BUSINESS_CAUSES),
    "micro_sme": Product(.06, (5e5, 2e6, 1e7), (12, 24, 36), (.038, .07),
                         {"interest_only": 1.0}, {"mortgage": .45, "guarantee": .4, "pledge": .15},
                         .008, .7, .006, .002, .06, BUSINESS_CAUSES),
    "credit_card": Product(.30, (1e4, 3e4, 1e5), (120,), (.1825, .1825),
                           {"revolving": 1.0}, {"credit": 1.0},
                           .02, 1.0, .008, .005, .01, CONSUMER_CAUSES),
}
PRODUCT_NAMES = tuple(PRODUCTS)
assert set(PRODUCT_NAMES) == set(schema.PRODUCTS)

# branch id, name, region, share of the book, risk multiplier (C->M1 up, cures down)
BRANCHES = (
    ("B01", "杭州分行", "华东", .13, .70),
    ("B02", "宁波分行", "华东", .09, .75),
    ("B03", "上海分行", "华东", .12, .65),
    ("B04", "南京分行", "华东", .09, .80),
    ("B05", "苏州分行", "华东", .08, .70),
    ("B06", "温州分行", "华东", .06, 1.50),
    ("B07", "广州分行", "华南", .09, .90),
    ("B08", "深圳分行", "华南", .09, .95),
    ("B09", "成都分行", "西南", .07, 1.15),
    ("B10", "重庆分行", "西南", .06, 1.30),
    ("B11", "郑州分行", "华中", .07, 1.35),
    ("B12", "沈阳分行", "东北", .05, 2.00),
)
MISCLASSIFYING_BRANCH = "B11"  # books secured 90+ DPD loans as 关注 (偏离度 above 100%)
# The special-assets department: originates nothing; large NPL loans are moved there to be managed (the snapshot's
# managing branch); kept out of BRANCHES so the random draws (branch shares, collectors) stay as they were.
SPECIAL_ASSETS = ("B99", "特殊资产经营部", "总行")
SPECIAL_ASSETS_MIN_BALANCE = 50_000_000  # cents: an NPL loan with at least 50万元 outstanding ...
SPECIAL_ASSETS_SHARE = 60  # ... is moved (the month after it first qualifies) when its loan number hash % 100 < this
MANAGING_BRANCH_IDS = (*(b[0] for b in BRANCHES), SPECIAL_ASSETS[0])

INDIVIDUAL_INDUSTRIES = {  # occupation -> risk multiplier
    "公务员/事业单位": .6, "教师": .65, "医生/医护": .7, "国企职员": .75, "民企职员": 1.0, "IT/互联网": .9,
    "制造业工人": 1.15, "销售/服务业": 1.2, "个体工商户": 1.3, "自由职业": 1.35, "外卖/网约车司机": 1.4, "退休": .8,
}
BUSINESS_INDUSTRIES = {  # industry -> risk multiplier
    "批发零售": 1.0, "制造业": 1.05, "餐饮住宿": 1.35, "建筑业": 1.45, "交通运输": 1.1, "农林牧渔": 1.15,
    "房地产中介": 1.5, "信息技术服务": .85, "居民服务": 1.0, "外贸进出口": 1.2,
}
INDUSTRY_NAMES = (*INDIVIDUAL_INDUSTRIES, *BUSINESS_INDUSTRIES)
INDUSTRY_RISK = np.array([*INDIVIDUAL_INDUSTRIES.values(), *BUSINESS_INDUSTRIES.values()])

# outcome probabilities of a loan n instalments behind (index min(n, 7)); roll = the rest
BASE_CURE = np.array([0, .45, .16, .07, .035, .03, .025, .012])
BASE_PARTIAL = np.array([0, 0, .08, .05, .03, .02, .02, .01])
BASE_STAY = np.array([0, .07, .10, .07, .05, .05, .05, .03])
TECH_CURE = .9  # failed debits are fixed the next month
TECH_MISS = .006  # monthly failed-debit probability for due days late in the month
TRANSFER_QUARTER_END = {6: .10, 12: .10, 3: .04, 9: .04}  # 批量转让 of >90 DPD loans at quarter ends
WRITE_OFF_RATE = .35  # monthly write-off probability of unsecured loans beyond 180 DPD
FORECLOSE_RATE = .12  # monthly foreclosure probability of secured loans beyond 270 DPD
CARD_MIN_PAYMENT = .10  # share of the card balance due each month (plus interest)
CARD_SPEND = .12  # a current card draws up to this share of its limit each month

TEAMS = ("电话催收一组", "电话催收二组", "外访组", "法务组")
CHANNELS_BY_STAGE = {  # stage by instalments behind at the previous month end: 1-2, 3-6, 7+
    "early": {"phone": .7, "sms": .3},
    "mid": {"phone": .25, "visit": .4, "letter": .2, "sms": .15},
    "late": {"litigation": .35, "outsourced": .35, "visit": .15, "letter": .15},
}
NO_PAY_OUTCOMES = ("no_answer", "rpc", "ptp", "refused", "lost_contact")
NO_PAY_BY_STAGE = {"early": (.35, .2, .3, .08, .07), "mid": (.35, .2, .2, .15, .1), "late": (.3, .15, .1, .2, .25)}
ACTIONS_PER_MONTH = {"early": 2.0, "mid": 1.5, "late": .8}  # Poisson mean of extra actions
CHANNEL_COST = {"phone": 3.0, "sms": .1, "visit": 150.0, "letter": 20.0, "litigation": 3000.0, "outsourced": 500.0}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文斌红玉兰飞鹏"


@dataclass(frozen=True)
class Stories:
    """Where the embedded stories sit for a given window (month indexes, see ``month_index``)."""

    bad_vintage: tuple[int, int, int]  # the three origination months of the bad quarter
    shock: tuple[int, ...]  # months of higher roll rates


def stories(n_months: int = DEFAULT_MONTHS, end_month: dt.date = DEFAULT_END_MONTH) -> Stories:
    """The bad quarter starts a third into the window; the six-month shock starts half-way."""
    start = month_index(end_month) - n_months + 1
    third = start + n_months // 3
    quarter = third - third % 3
    shock_start = start + n_months // 2
    return Stories((quarter, quarter + 1, quarter + 2), tuple(range(shock_start, shock_start + 6)))


def _seasonal_c_m1(t: int) -> float:
    """Spring Festival (Jan/Feb) spending and cash needs lift early delinquency."""
    return {0: 1.25, 1: 1.5}.get(t % 12, 1.0)


def _house_price_index(index: np.ndarray) -> np.ndarray:
    """National house prices: rising to mid-2021, falling ~22% to mid-2025, then flat-ish."""
    knots = [month_index(dt.date(y, m, 1)) for y, m in ((2010, 1), (2021, 8), (2025, 6), (2028, 1))]
    return np.exp(np.interp(index, knots, np.log([1.0, 2.0, 1.56, 1.53])))


# --- loans ----------------------------------------------------------------------------------------


def _choice(rng: np.random.Generator, probs: dict[str, float], codes: tuple[str, ...], size: int) -> np.ndarray:
    """Codes (as indexes into ``codes``) drawn with the given probabilities."""
    return rng.choice([codes.index(c) for c in probs], size=size, p=list(probs.values())).astype(np.int8)


def _per_product(product: np.ndarray, draw) -> np.ndarray:
    """Fill an array product by product: ``draw(name, params, count)`` returns that product's values."""
    out = None
    for p, (name, params) in enumerate(PRODUCTS.items()):
        rows = np.flatnonzero(product == p)
        values = np.asarray(draw(name, params, rows.size))
        if out is None:
            out = np.zeros(product.size, dtype=values.dtype)
        out[rows] = values
    return out


def _origination_months(rng, n, term, sim_start, end, story) -> np.ndarray:
    """New loans spread over the simulated months with growing volume; the rest form a back book."""
    months = np.arange(sim_start, end + 1)
    weights = 1.015 ** (months - sim_start) * np.where(months % 12 == 1, .6, 1.0)  # growth, quiet February
    weights *= np.where(np.isin(months, story.bad_vintage), 1.3, 1.0)  # the bad quarter was a push for volume
    new_share = months.size / (months.size + BACK_BOOK_MONTHS)
    is_new = rng.random(n) < new_share
    orig = rng.choice(months, size=n, p=weights / weights.sum())
    # back book: 0 .. term-2 instalments paid before the simulation, at most ten years (cards five)
    max_paid = np.minimum(term - 2, np.where(term == 120, 60, 120))
    paid = np.floor(rng.random(n) * (max_paid + 1)).astype(np.int64)
    return np.where(is_new, orig, sim_start - 1 - paid)


def _principal(rng, lo_med_hi: tuple[float, float, float], size: int, step: float) -> np.ndarray:
    lo, med, hi = lo_med_hi
    yuan = np.clip(med * np.exp(rng.normal(0, .6, size)), lo, hi)
    return (np.round(yuan / step) * step * 100).astype(np.int64)


def _ratings(rng, z: np.ndarray) -> np.ndarray:
    """Internal rating index (0 = AAA … 6 = CCC): a noisy view of the latent risk."""
    score = z + rng.normal(0, .5, z.size)
    cuts = np.quantile(score, [.05, .2, .45, .7, .85, .95])
    return np.searchsorted(cuts, score).astype(np.int8)


def _draw_loans(rng: np.random.Generator, n: int, sim_start: int, end: int, story: Stories) -> dict[str, np.ndarray]:
    """Static loan attributes as numpy arrays, ordered by origination (loan ids ascend with time)."""
    branch_share = np.array([b[3] for b in BRANCHES])
    product = rng.choice(len(PRODUCTS), size=n, p=[p.share for p in PRODUCTS.values()]).astype(np.int8)
    branch = rng.choice(len(BRANCHES), size=n, p=branch_share / branch_share.sum()).astype(np.int16)
    term = _per_product(product, lambda _, p, k: rng.choice(p.terms, size=k)).astype(np.int64)
    orig = _origination_months(rng, n, term, sim_start, end, story)
    order = np.lexsort((rng.random(n), orig))
    product, branch, term, orig = product[order], branch[order], term[order], orig[order]

    z = rng.normal(0, 1, n)  # latent borrower risk
    is_business = np.isin(product, [PRODUCT_NAMES.index("personal_business"), PRODUCT_NAMES.index("micro_sme")])
    industry = np.where(is_business, len(INDIVIDUAL_INDUSTRIES) + rng.integers(0, len(BUSINESS_INDUSTRIES), n),
                        rng.integers(0, len(INDIVIDUAL_INDUSTRIES), n))
    rating = _ratings(rng, z)
    lo_hi = np.array([PRODUCTS[PRODUCT_NAMES[p]].rate for p in range(len(PRODUCTS))])[product]
    pricing = np.clip(.5 + .25 * z + rng.normal(0, .15, n), 0, 1)  # risk-based pricing
    rate = np.round(lo_hi[:, 0] + (lo_hi[:, 1] - lo_hi[:, 0]) * pricing, 4)
    principal = _per_product(product, lambda name, p, k: _principal(rng, p.principal, k,
                                                                     step=1000 if name == "credit_card" else 100))
    method = _per_product(product, lambda _, p, k: _choice(rng, p.methods, schema.REPAYMENT_METHODS, k))
    guarantee = _per_product(product, lambda _, p, k: _choice(rng, p.guarantees, schema.GUARANTEE_TYPES, k))
    secured = np.isin(guarantee, [schema.GUARANTEE_TYPES.index("mortgage"), schema.GUARANTEE_TYPES.index("pledge")])
    ltv = np.where(guarantee == schema.GUARANTEE_TYPES.index("pledge"), rng.uniform(.5, .9, n), rng.uniform(.5, .8, n))
    collateral = np.where(secured, np.round(principal / ltv, -2), -1).astype(np.int64)
    median_income = _per_product(product, lambda name, p, k: np.full(k, {
        "mortgage": 25e4, "housing_fund": 18e4, "consumer": 12e4, "credit_card": 10e4,
        "personal_business": 300e4, "micro_sme": 1500e4}[name]))
    income = np.round(median_income * np.exp(rng.normal(0, .5, n) - .2 * z), -2).astype(np.int64) * 100
    age = np.where(is_business, rng.integers(28, 61, n), rng.integers(22, 61, n))

    bad_vintage = np.isin(orig, story.bad_vintage)
    fraud_rate = np.array([p.fraud for p in PRODUCTS.values()])[product] * np.where(bad_vintage, 4, 1)
    orig_day = rng.integers(1, 29, n)
    customer = np.arange(n)
    # about 8% of customers hold a second loan at the same branch (e.g. a card next to a mortgage)
    pairs = rng.permutation(n)[: 2 * (n // 25)].reshape(2, -1)
    customer[pairs[1]], branch[pairs[1]], age[pairs[1]] = customer[pairs[0]], branch[pairs[0]], age[pairs[0]]
    # about 1 in 60 customers also holds a loan at another branch (a business loan where the firm is, next to a
    # home loan where the family lives): chosen from the loan index, no random draw, so every number of the book
    # is the same as without it; only customer ids change
    single = np.bincount(customer, minlength=n) == 1
    cross = np.arange(11, n - 1, 120)
    cross = cross[single[cross] & single[cross + 1] & (customer[cross] == cross) & (customer[cross + 1] == cross + 1)
                  & (branch[cross] != branch[cross + 1])]
    customer[cross + 1] = customer[cross]
    return {
        "product": product, "branch": branch, "orig": orig, "orig_day": orig_day, "due_day": np.minimum(orig_day, 25),
        "term": term, "last_due": orig + term, "principal": principal, "rate": rate, "method": method,
        "guarantee": guarantee, "secured": secured, "collateral": collateral, "age": age, "income": income,
        "industry": industry, "rating": rating, "risk": np.exp(.55 * z) * INDUSTRY_RISK[industry],
        "bad_vintage": bad_vintage,
        "fraud": (orig >= sim_start) & (rng.random(n) < fraud_rate),  # seasoned back-book loans are past it
        "watch": (rating >= 5) & (rng.random(n) < .3),  # risky current loans booked 关注 on judgment
        "understate": (branch == _branch_index(MISCLASSIFYING_BRANCH)) & secured,
        "pick": rng.integers(0, 1 << 30, n), "customer": customer,
    }


def _branch_index(branch_id: str) -> int:
    return next(i for i, b in enumerate(BRANCHES) if b[0] == branch_id)


def _opening_balance(loans: dict[str, np.ndarray], sim_start: int, rng: np.random.Generator) -> np.ndarray:
    """Scheduled principal of back-book loans after their instalments before the simulation."""
    paid = np.maximum(sim_start - 1 - loans["orig"], 0)
    p, term = loans["principal"].astype(float), loans["term"]
    r = loans["rate"] / 12
    growth_t, growth_a = (1 + r) ** term, (1 + r) ** paid
    method = np.array(schema.REPAYMENT_METHODS)[loans["method"]]
    balance = np.select(
        [method == "annuity", method == "equal_principal", method == "interest_only"],
        [p * (growth_t - growth_a) / (growth_t - 1), p * (1 - paid / term), p],
        p * rng.uniform(.3, .9, p.size),  # revolving: drawn share of the limit
    )
    return np.floor(balance + .5).astype(np.int64)


# --- collectors -------------------------------------------------------------------------------------


def _draw_collectors(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """4-8 collectors per branch in phone / field / legal teams, each with a skill multiplier."""
    rows = []
    for b in range(len(BRANCHES)):
        sizes = (rng.integers(2, 4), rng.integers(0, 3), rng.integers(1, 3), 1)
        rows += [(b, team) for team, size in enumerate(sizes) for _ in range(size)]
    branch, team = (np.array(col) for col in zip(*rows, strict=True))
    stage = np.array([0, 0, 1, 2])[team]  # both phone teams work the early stage
    offset = np.zeros((len(BRANCHES), 3), dtype=np.int64)
    size = np.zeros((len(BRANCHES), 3), dtype=np.int64)
    np.add.at(size, (branch, stage), 1)
    first = np.r_[0, np.flatnonzero(np.diff(branch * 3 + stage)) + 1]
    offset[branch[first], stage[first]] = first
    names = [SURNAMES[i] + "".join(GIVEN[j] for j in rng.integers(0, len(GIVEN), rng.integers(1, 3)))
             for i in rng.integers(0, len(SURNAMES), branch.size)]
    return {"branch": branch, "team": team, "skill": rng.uniform(.7, 1.35, branch.size), "name": np.array(names),
            "offset": offset, "size": size}


def _stage(n: np.ndarray) -> np.ndarray:
    """Collection stage by instalments behind: 0 phone (1-2), 1 field (3-6), 2 legal (7+)."""
    return np.where(n <= 2, 0, np.where(n <= 6, 1, 2))


def _assigned_collector(collectors, branch: np.ndarray, pick: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The collector of the loan's branch and stage (stable for a loan within a stage); -1 when current."""
    stage = _stage(n)
    member = collectors["offset"][branch, stage] + pick % collectors["size"][branch, stage]
    return np.where(n > 0, member, -1)


# --- the monthly simulation -----------------------------------------------------------------------

# what happens to a loan in a month
PAY, MISS, MISS_TECH, PREPAY, CURE, PARTIAL, STAY, ROLL, RESTRUCTURE, WRITE_OFF, TRANSFER, FORECLOSE = range(12)
DISPOSALS = {WRITE_OFF: "written_off", TRANSFER: "transferred", FORECLOSE: "foreclosed"}
STATUS = {s: i for i, s in enumerate(schema.STATUSES)}
METHOD = {m: i for i, m in enumerate(schema.REPAYMENT_METHODS)}
CAUSE = {c: i for i, c in enumerate(schema.CAUSES)}
CARD, MORTGAGE = PRODUCT_NAMES.index("credit_card"), PRODUCT_NAMES.index("mortgage")
PREPAYMENT_WAVE_END = month_index(dt.date(2025, 1, 1))  # 2023-24: borrowers repaid mortgages as deposit rates fell
# aggregates kept per month and branch for the targets
TOTAL, OVERDUE, NPL, CASH, NEW_NPL, WRITTEN_OFF = range(6)


def _mob_curve(mob: np.ndarray) -> np.ndarray:
    """Delinquency builds up over the first half year on book and eases as loans season."""
    return np.minimum(1.0, .4 + .1 * mob) * (.7 + .3 * np.exp(-mob / 36))


def _dpd(t: int, n: np.ndarray, due_day: np.ndarray) -> np.ndarray:
    """Days from the due date of the oldest of ``n`` unpaid monthly instalments to the end of month ``t``."""
    oldest = _first_day(t - np.maximum(n, 1) + 1) + due_day - 1
    return np.where(n > 0, _month_end(t) - oldest, 0)


def _per_loan(loans, field: str) -> np.ndarray:
    return np.array([getattr(p, field) for p in PRODUCTS.values()])[loans["product"]]


class _Book:
    """The month-end state of every loan, advanced one month at a time (arrays indexed by loan)."""

    def __init__(self, loans, collectors, rng: np.random.Generator, sim_start: int, story: Stories):
        self.loans, self.collectors, self.rng, self.story = loans, collectors, rng, story
        n = loans["orig"].size
        self.active = loans["orig"] < sim_start
        self.out = np.where(self.active, _opening_balance(loans, sim_start, rng), 0)
        self.odp = np.zeros(n, np.int64)  # overdue principal
        self.odi = np.zeros(n, np.int64)  # overdue interest
        self.n = np.zeros(n, np.int64)  # unpaid instalments
        self.dpd = np.zeros(n, np.int64)
        self.booked = np.where(loans["watch"], 2, 1).astype(np.int8)
        self.cause = np.full(n, -1, np.int8)
        self.tech = np.zeros(n, bool)
        self.restructured = np.zeros(n, bool)
        self.hold_class = np.zeros(n, np.int8)  # judgmental class kept until hold_until
        self.hold_until = np.zeros(n, np.int64)
        self.last_due = loans["last_due"].copy()
        self.branch_risk = np.array([b[4] for b in BRANCHES])[loans["branch"]]
        self.managed = loans["branch"].astype(np.int16)  # managing branch (index into MANAGING_BRANCH_IDS)
        number = np.arange(n, dtype=np.uint64)
        self.may_move = (number * np.uint64(2654435761) % np.uint64(2**32)) % np.uint64(100) < SPECIAL_ASSETS_SHARE
        self.c_m1, self.cure = _per_loan(loans, "c_m1"), _per_loan(loans, "cure")
        self.prepay, self.p_restructure = _per_loan(loans, "prepay"), _per_loan(loans, "restructure")
        self.hpi_at_origination = _house_price_index(loans["orig"])

    def step(self, t: int) -> dict:
        """Advance to the end of month ``t``: the month's rows, collection inputs and branch aggregates."""
        loans = self.loans
        i = np.flatnonzero(self.active)
        lo, hi = np.searchsorted(loans["orig"], [t, t + 1])  # loans are sorted by origination month
        prev = {"n": self.n[i], "out": self.out[i], "odp": self.odp[i], "odi": self.odi[i],
                "dpd": self.dpd[i], "booked": self.booked[i]}
        interest = monthly_interest(prev["out"], loans["rate"][i])
        due = self._scheduled_principal(i, t, prev["out"] - prev["odp"])
        outcome = self._outcomes(i, t, prev, due, interest)
        flows = self._apply(i, t, prev, outcome, due, interest)
        self._classify(i, t, prev, outcome)

        new = np.arange(lo, hi)
        self.active[new] = True
        self.out[new] = loans["principal"][new]
        rows = np.r_[i, new]  # sorted: every active loan originated before the new ones
        zeros = np.zeros(new.size, np.int64)
        month = {
            "loan": rows.astype(np.int32),
            "branch": self.managed[rows].copy(),
            "due": np.r_[due + interest + prev["odp"] + prev["odi"], zeros],
            "paid": np.r_[flows["paid"], zeros],
            "disposed": np.r_[flows["disposed"], zeros],
            "status": np.r_[flows["status"], zeros.astype(np.int8)],
            "collector": _assigned_collector(self.collectors, loans["branch"][rows], loans["pick"][rows],
                                             self.n[rows]).astype(np.int16),
            "collateral": self._collateral(rows, t),
            "out": self.out[rows], "odp": self.odp[rows], "odi": self.odi[rows],
            "dpd": self.dpd[rows].astype(np.int32),
            "booked": self.booked[rows], "cause": self.cause[rows], "restructured": self.restructured[rows],
            "tech_overdue": self.tech[rows] & (self.dpd[rows] >= 1) & (self.dpd[rows] <= 7),
        }
        # large NPL loans move to the special-assets department; their rows show it from the next month on
        move = self.may_move[rows] & (self.booked[rows] >= 3) & (self.out[rows] >= SPECIAL_ASSETS_MIN_BALANCE)
        self.managed[rows[move]] = len(BRANCHES)
        overdue_before = prev["n"] > 0
        collection = {"loan": i[overdue_before], "n": prev["n"][overdue_before],
                      "arrears": (prev["odp"] + prev["odi"])[overdue_before],
                      "paid": flows["paid"][overdue_before], "cured": (self.n[i] == 0)[overdue_before]}
        return {"rows": month, "collection": collection, "aggregates": self._aggregates(i, rows, prev, flows, outcome)}

    def _collateral(self, rows: np.ndarray, t: int) -> np.ndarray:
        """Current collateral value in cents (-1 = none): real estate follows house prices, pledges don't."""
        value = self.loans["collateral"][rows]
        real_estate = self.loans["guarantee"][rows] == schema.GUARANTEE_TYPES.index("mortgage")
        index = np.where(real_estate, _house_price_index(t) / self.hpi_at_origination[rows], 1.0)
        return np.where(value >= 0, np.floor(value * index + .5), -1).astype(np.int64)

    def _scheduled_principal(self, i: np.ndarray, t: int, not_due: np.ndarray) -> np.ndarray:
        """Principal falling due this month, by repayment method, out of the principal not yet due."""
        method = self.loans["method"][i]
        k = np.maximum(self.last_due[i] - t + 1, 1)  # instalments left including this one
        r = self.loans["rate"][i] / 12
        principal = np.select(
            [method == METHOD["annuity"], method == METHOD["equal_principal"], method == METHOD["interest_only"]],
            [not_due * r / np.expm1(k * np.log1p(r)), not_due / k, np.where(k == 1, not_due, 0)],
            np.maximum(not_due * CARD_MIN_PAYMENT, np.minimum(not_due, 10_000)),  # card minimum payment
        )
        return np.minimum(np.floor(principal + .5).astype(np.int64), not_due)

    def _outcomes(self, i, t, prev, due, interest) -> np.ndarray:
        """One outcome per active loan: current loans pay, miss or prepay; overdue ones cure, roll or exit."""
        loans, rng = self.loans, self.rng
        shock = t in self.story.shock
        mob = t - loans["orig"][i]
        vintage = np.where(loans["bad_vintage"][i], np.where(mob <= 12, 3.0, 1.5), 1.0)
        bullet = (loans["method"][i] == METHOD["interest_only"]) & (self.last_due[i] == t)
        p_miss = (self.c_m1[i] * loans["risk"][i] * self.branch_risk[i] * _mob_curve(mob) * vintage
                  * _seasonal_c_m1(t) * (1.6 if shock else 1.0) * np.where(self.restructured[i], 3.0, 1.0)
                  * np.where(bullet, 4.0, 1.0))  # a bullet needs refinancing: the riskiest due date
        p_miss = np.where(loans["fraud"][i], 1.0, np.minimum(p_miss, .5))
        p_tech = np.where(loans["due_day"][i] >= 20, TECH_MISS, 0)
        wave = np.where((loans["product"][i] == MORTGAGE) & (t < PREPAYMENT_WAVE_END), 1.6, 1.0)
        u = rng.random(i.size)
        current = np.select([u < p_miss, u < p_miss + p_tech, u < p_miss + p_tech + self.prepay[i] * wave],
                            [MISS, MISS_TECH, PREPAY], PAY)

        n = prev["n"]
        behind = np.minimum(n, 7)
        # collector -1 (current loans) picks an arbitrary skill that only the overdue branch below would use
        skill = self.collectors["skill"][_assigned_collector(self.collectors, loans["branch"][i], loans["pick"][i], n)]
        mult = (self.cure[i] * skill * (.8 if shock else 1.0)
                / np.sqrt(self.branch_risk[i] * loans["risk"][i]))
        hopeless = loans["fraud"][i]
        p_cure = np.where(self.tech[i], TECH_CURE, np.where(hopeless, 0, np.minimum(BASE_CURE[behind] * mult, .9)))
        p_partial = np.where(self.tech[i] | hopeless, 0, BASE_PARTIAL[behind] * mult)
        p_stay = np.where(self.tech[i] | hopeless, 0, BASE_STAY[behind])
        scale = np.maximum((p_cure + p_partial + p_stay) / .97, 1)  # always leave some roll probability
        p_cure, p_partial, p_stay = p_cure / scale, p_partial / scale, p_stay / scale
        u = rng.random(i.size)
        behaviour = np.select([u < p_cure, u < p_cure + p_partial, u < p_cure + p_partial + p_stay],
                              [CURE, PARTIAL, STAY], ROLL)
        # past maturity nothing new falls due: paying the arrears settles the loan
        settled = np.isin(behaviour, [PARTIAL, STAY]) & (due == 0) & (prev["out"] == prev["odp"]) & (
            loans["method"][i] != METHOD["revolving"])
        behaviour = np.where(settled, CURE, behaviour)

        restructure = ((n >= 2) & (n <= 4) & ~self.restructured[i] & ~hopeless
                       & (rng.random(i.size) < self.p_restructure[i]))
        u = rng.random(i.size)
        p_transfer = TRANSFER_QUARTER_END.get(t % 12 + 1, 0) * (prev["dpd"] > 90)
        secured = loans["secured"][i]
        disposal = np.select(
            [u < p_transfer, ~secured & (prev["dpd"] > 180) & (u < p_transfer + WRITE_OFF_RATE),
             secured & (prev["dpd"] > 270) & (u < p_transfer + FORECLOSE_RATE)],
            [TRANSFER, WRITE_OFF, FORECLOSE], -1)
        overdue = np.where(disposal >= 0, disposal, np.where(restructure, RESTRUCTURE, behaviour))
        return np.where(n == 0, current, overdue).astype(np.int8)

    def _apply(self, i, t, prev, outcome, due, interest) -> dict:
        """Cash, balances and instalment counts after the month's outcomes (integer cents)."""
        loans, n0 = self.loans, prev["n"]
        share = np.select([outcome == CURE, outcome == PARTIAL, outcome == STAY],
                          [1.0, 2 / np.maximum(n0, 1), 1 / np.maximum(n0, 1)], 0.0)
        share = np.minimum(share, 1.0)  # share of the arrears paid
        arrears_p = np.floor(prev["odp"] * share + .5).astype(np.int64)
        arrears_i = np.floor(prev["odi"] * share + .5).astype(np.int64)
        pays = np.isin(outcome, [PAY, CURE, PREPAY])
        misses = ~pays & (outcome != RESTRUCTURE)  # the month's instalment is added to the arrears
        disposed = np.where(np.isin(outcome, list(DISPOSALS)), prev["out"], 0)
        paid_p = arrears_p + np.where(pays, due, 0) + np.where(outcome == PREPAY, prev["out"] - due, 0)
        paid_i = arrears_i + np.where(pays, interest, 0)
        capitalised = np.where(outcome == RESTRUCTURE, prev["odi"] + interest, 0)
        out = prev["out"] - paid_p + capitalised - disposed
        limit = loans["principal"][i]
        spend = np.floor(limit * self.rng.uniform(0, CARD_SPEND, i.size)).astype(np.int64)
        out += np.where((outcome == PAY) & (loans["product"][i] == CARD), np.minimum(spend, limit - out), 0)

        self.odp[i] = np.where(misses & (disposed == 0), prev["odp"] - arrears_p + due, 0)
        self.odi[i] = np.where(misses, prev["odi"] - arrears_i + interest, 0)
        self.n[i] = np.select([np.isin(outcome, [MISS, MISS_TECH]), outcome == PARTIAL, outcome == STAY, misses],
                              [1, n0 - 1, n0, n0 + 1], 0)
        self.out[i] = out
        self.dpd[i] = _dpd(t, self.n[i], loans["due_day"][i])
        self.tech[i] = np.where(self.n[i] == 0, False, self.tech[i] | (outcome == MISS_TECH))
        self._update_cause(i, outcome)
        self.restructured[i] |= outcome == RESTRUCTURE
        self.last_due[i] = np.where(outcome == RESTRUCTURE, np.maximum(self.last_due[i], t) + 12, self.last_due[i])

        status = np.full(i.size, STATUS["active"], np.int8)
        for code, name in DISPOSALS.items():
            status[outcome == code] = STATUS[name]
        status[(status == STATUS["active"]) & (out == 0)] = STATUS["paid_off"]
        self.active[i] = status == STATUS["active"]
        return {"paid": paid_p + paid_i, "disposed": disposed, "status": status}

    def _update_cause(self, i, outcome) -> None:
        """A cause is drawn when a loan falls behind, kept while it stays behind, cleared on cure."""
        loans, rng = self.loans, self.rng
        fell_behind = i[np.isin(outcome, [MISS, MISS_TECH])]
        product = loans["product"][fell_behind]
        drawn = np.zeros(fell_behind.size, np.int8)
        for p, params in enumerate(PRODUCTS.values()):
            rows = product == p
            drawn[rows] = _choice(rng, params.causes, schema.CAUSES, int(rows.sum()))
        older = (loans["age"][fell_behind] >= 55) & (rng.random(fell_behind.size) < .2)  # illness comes with age
        drawn = np.where(older, CAUSE["illness"], drawn)
        drawn = np.where(loans["fraud"][fell_behind], CAUSE["fraud"], drawn)
        self.cause[fell_behind] = np.where(self.tech[fell_behind], CAUSE["technical"], drawn)
        self.cause[i[self.n[i] == 0]] = -1

    def _classify(self, i, t, prev, outcome) -> None:
        """Booked class: the DPD floor plus judgment (holds after cures and restructures, watch list)."""
        loans = self.loans
        dpd = self.dpd[i]
        floor = DEFAULT_FLOOR.classify(dpd, self.tech[i])
        card = loans["product"][i] == CARD  # the stricter card schedule: 可疑 beyond 120, 损失 beyond 180 DPD
        floor = np.maximum(floor, np.select([card & (dpd > 180), card & (dpd > 120)], [5, 4], 1))
        # a cured NPL loan stays NPL for six months; a restructured one stays at least 关注 for a year
        cured_npl = (prev["booked"] >= 3) & (prev["n"] > 0) & (self.n[i] == 0) & self.active[i]
        restructured = outcome == RESTRUCTURE
        hold = np.where(restructured, np.maximum(prev["booked"], 2), prev["booked"])
        start_hold = cured_npl | restructured
        self.hold_class[i] = np.where(start_hold, hold, self.hold_class[i])
        self.hold_until[i] = np.where(start_hold, t + np.where(restructured, 12, 6), self.hold_until[i])
        held = np.where(t < self.hold_until[i], self.hold_class[i], 1)
        booked = np.maximum.reduce([floor, held, np.where(loans["watch"][i], 2, 1)])
        # the misclassifying branch keeps well-collateralised 90+ DPD loans at 关注
        understated = loans["understate"][i] & (dpd > 90) & (dpd <= 360)
        self.booked[i] = np.where(understated, 2, booked).astype(np.int8)

    def _aggregates(self, i, rows, prev, flows, outcome) -> np.ndarray:
        """Per-branch month figures that the quarterly targets are set from."""
        branch = self.loans["branch"]
        on_book = self.active[rows]
        balance = np.where(on_book, self.out[rows], 0).astype(float)
        values = {
            TOTAL: (rows, balance),
            OVERDUE: (rows, balance * (self.dpd[rows] > 0)),
            NPL: (rows, balance * (self.booked[rows] >= 3)),
            CASH: (i, flows["paid"] * (prev["n"] > 0)),
            NEW_NPL: (i, np.where(self.active[i] & (self.booked[i] >= 3) & (prev["booked"] < 3), self.out[i], 0)),
            WRITTEN_OFF: (i, flows["disposed"] * (outcome == WRITE_OFF)),
        }
        out = np.zeros((len(values), len(BRANCHES)))
        for key, (idx, weight) in values.items():
            out[key] = np.bincount(branch[idx], weights=weight, minlength=len(BRANCHES))
        return out


# --- collection actions ----------------------------------------------------------------------------

STAGES = ("early", "mid", "late")
CHANNEL_PROBS = np.array([[CHANNELS_BY_STAGE[s].get(c, 0) for c in schema.CHANNELS] for s in STAGES])
NO_PAY_PROBS = np.array([NO_PAY_BY_STAGE[s] for s in STAGES])
OUTCOME = {o: i for i, o in enumerate(schema.OUTCOMES)}
ACTIONS_STREAM = 12  # the actions' generator is seeded with (seed, ACTIONS_STREAM)
VISITS_STREAM = 13  # the return visits' generator is seeded with (seed, VISITS_STREAM)


def _categorical(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One draw per element from the distribution in row ``rows[k]`` of ``probs``."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    return (rng.random(rows.size)[:, None] >= cum[rows]).sum(axis=1)


def _legacy_draws(rng, t: int, cases: dict) -> None:
    """The draws the first version of the actions took from the book's generator, taken and dropped.

    The book and the actions share one generator; drawing the same numbers in the same order keeps
    the loans, snapshots and targets of a seed unchanged while the actions draw from their own stream.
    """
    stage = _stage(cases["n"])
    count = 1 + np.minimum(rng.poisson(np.array([ACTIONS_PER_MONTH[s] for s in STAGES])[stage]), 7)
    size = int(count.sum())
    rng.integers(0, int(_month_end(t) - _first_day(t)) + 1, size)
    rng.random(size), rng.random(size), rng.uniform(.8, 1.2, size), rng.uniform(.3, 1, size)
    rng.integers(1, 15, size)


# Collector styles (drawn per collector from the actions' own generator): how many actions, how often the
# debtor is reached, how readily promises are taken and how realistic they are, how many cases are left unworked.
STYLES = ("steady", "volume", "promiser", "careful")
STYLE_SHARE = (.4, .2, .2, .2)
STYLE_ACTIONS = np.array([1.0, 1.8, 1.0, .75])  # multiplier of the Poisson mean of extra actions
STYLE_REACH = np.array([1.0, .8, 1.0, 1.25])  # multiplier of the odds of reaching someone
STYLE_PTP = np.array([1.0, 1.0, 1.8, .9])  # multiplier of the share of promises among contacts
STYLE_SKIP = np.array([1.0, .3, 1.0, 1.8])  # multiplier of the share of cases not worked in a month
STYLE_OVERPROMISE = np.array([.15, .25, .5, .08])  # share of promises above what is then paid
STYLE_LATE = np.array([.12, .2, .3, .06])  # share of promises paid 1-3 days after the promised date
STYLE_PROMISE_BEFORE_PAY = np.array([.55, .5, .8, .6])  # a promise precedes the payment
LOOSE_PTP = .15  # promises on cases that do not pay this month: fewer than the first version's outcome mix
UNWORKED = np.array([.04, .08, .12])  # share of non-paying cases with no action in the month, by stage
FILING_RATE = .12  # monthly probability that a late-stage loan not yet in court is sued (x1.5 if secured)
FILING_COST = (3000.0, 8000.0)  # court fees and lawyer, yuan, uniform
PROCEEDING_COST = (300.0, 1500.0)  # each later litigation step (hearing, enforcement), yuan
OUTSOURCED_COMMISSION = .12  # agency commission on the cash it collects
LATE_CHANNELS = {"outsourced": .45, "visit": .3, "letter": .25}  # late loans not in court
ONE_WAY_OUTCOMES = (.85, .1, .03, .01, .01)  # SMS and letters: mostly no response
LITIGATION = schema.CHANNELS.index("litigation")
ONE_WAY = np.isin(np.arange(len(schema.CHANNELS)), [schema.CHANNELS.index(c) for c in ("sms", "letter")])


class _Collections:
    """The collection actions, month by month, from their own generator (``rng``): collector styles and
    the loans already in court are kept across months."""

    def __init__(self, rng: np.random.Generator, collectors: dict, n_loans: int):
        self.rng = rng
        self.style = rng.choice(len(STYLES), size=collectors["branch"].size, p=STYLE_SHARE)
        self.in_court = np.zeros(n_loans, bool)
        probs = [[CHANNELS_BY_STAGE[s].get(c, 0) for c in schema.CHANNELS] for s in STAGES[:2]]
        probs.append([LATE_CHANNELS.get(c, 0) for c in schema.CHANNELS])
        self.channel_probs = np.array(probs)

    def month(self, book_rng, t: int, cases: dict, collectors, loans) -> dict[str, np.ndarray]:
        """Actions in month ``t`` on the loans overdue at the previous month end.

        A case (a loan overdue at the previous month end) is worked by its assigned collector with
        1-11 actions, or not at all (only non-paying cases). When the loan paid anything this month its
        last action is the payment and carries exactly that month's ``amount_paid``, often preceded by
        a promise for about that amount and date. Late loans are sued with a monthly probability; a
        loan in court has a litigation step each month and its payments come through enforcement.
        """
        _legacy_draws(book_rng, t, cases)
        rng, loan = self.rng, cases["loan"]
        k = loan.size
        stage = _stage(cases["n"])
        collector = _assigned_collector(collectors, loans["branch"][loan], loans["pick"][loan], cases["n"])
        style = self.style[collector]
        paying = cases["paid"] > 0
        filing = (stage == 2) & ~self.in_court[loan] & (
            rng.random(k) < FILING_RATE * np.where(loans["secured"][loan], 1.5, 1.0))
        self.in_court[loan[filing]] = True
        in_court = self.in_court[loan]
        worked = paying | in_court | (rng.random(k) >= UNWORKED[stage] * STYLE_SKIP[style])
        mean = np.array([ACTIONS_PER_MONTH[s] for s in STAGES])[stage] * STYLE_ACTIONS[style]
        count = np.where(worked, 1 + np.minimum(rng.poisson(mean), 10), 0)
        case = np.repeat(np.arange(k), count)
        days = int(_month_end(t) - _first_day(t)) + 1
        day = rng.integers(0, days, case.size)
        day = day[np.lexsort((day, case))]  # chronological within each case
        first = np.r_[True, case[1:] != case[:-1]]
        last = np.r_[case[1:] != case[:-1], True]
        channel = _categorical(rng, self.channel_probs, stage[case])
        channel = np.where(in_court[case] & (first | last), LITIGATION, channel)

        probs = NO_PAY_PROBS[stage[case]] * np.c_[np.ones(case.size), *[STYLE_REACH[style[case]]] * 4]
        probs[:, 2] *= STYLE_PTP[style[case]] * LOOSE_PTP
        probs = np.where(ONE_WAY[channel][:, None], np.array(ONE_WAY_OUTCOMES), probs)
        probs /= probs.sum(axis=1, keepdims=True)
        outcome = np.array([OUTCOME[o] for o in NO_PAY_OUTCOMES])[_categorical(rng, probs, np.arange(case.size))]
        pay = last & paying[case]
        outcome = np.where(pay, np.where(cases["cured"][case], OUTCOME["full_payment"], OUTCOME["partial_payment"]),
                           outcome)
        date = _first_day(t) + day
        collected = np.where(pay, cases["paid"][case], 0)

        # a promise before the payment (the action just before it), for about the amount and date paid
        before_pay = np.r_[pay[1:] & ~first[1:], False]
        promise_first = before_pay & (rng.random(case.size) < STYLE_PROMISE_BEFORE_PAY[style[case]])
        outcome = np.where(promise_first, OUTCOME["ptp"], outcome)
        # no promise stays on a one-way channel
        channel = np.where(promise_first & ONE_WAY[channel], schema.CHANNELS.index("phone"), channel)
        promise = outcome == OUTCOME["ptp"]
        paid_next = np.r_[collected[1:], 0]
        pay_date_next = np.r_[date[1:], 0]
        over = rng.random(case.size) < STYLE_OVERPROMISE[style[case]]
        factor = np.where(over, rng.uniform(1.05, 1.5, case.size), rng.uniform(.8, 1.0, case.size))
        late = rng.random(case.size) < STYLE_LATE[style[case]]
        offset = np.where(late, -rng.integers(1, 4, case.size), rng.integers(0, 8, case.size))
        loose_amount = np.maximum(np.floor(cases["arrears"][case] * rng.uniform(.3, 1, case.size) + .5), 1)
        loose_date = date + rng.integers(1, 15, case.size)
        promised = np.where(promise_first, np.maximum(np.floor(paid_next * factor + .5), 1), loose_amount)
        promised_date = np.where(promise_first, np.maximum(pay_date_next + offset, date + 1), loose_date)

        base = np.array([CHANNEL_COST[c] for c in schema.CHANNELS])[channel] * rng.uniform(.8, 1.2, case.size)
        court = np.where(filing[case] & first, rng.uniform(*FILING_COST, case.size),
                         rng.uniform(*PROCEEDING_COST, case.size))
        cost = np.where(channel == LITIGATION, court, base)
        cost += np.where(channel == schema.CHANNELS.index("outsourced"), collected * OUTSOURCED_COMMISSION / 100, 0)
        return {
            "loan": loan[case], "collector": collector[case], "date": date, "channel": channel, "outcome": outcome,
            "promised": np.where(promise, promised, -1).astype(np.int64),
            "promised_date": np.where(promise, promised_date, -1),
            "collected": collected, "cost": np.floor(cost * 100 + .5).astype(np.int64),
        }


# --- frames -----------------------------------------------------------------------------------------


def _money(cents: np.ndarray) -> pl.Series:
    """Integer cents (-1 = null) as an exact Decimal(18,2) series, built on the Arrow buffer (no floats)."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    valid = cents >= 0
    words = np.zeros((cents.size, 2), np.int64)  # 128-bit little-endian unscaled values, all non-negative
    words[:, 0] = np.where(valid, cents, 0)
    bitmap = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    array = pa.Array.from_buffers(pa.decimal128(18, 2), cents.size, [bitmap, pa.py_buffer(words)])
    return pl.from_arrow(array)


def _dates(days: np.ndarray) -> pl.Series:
    """Days since 1970-01-01 (-1 = null) as a Date series."""
    days = np.asarray(days)
    return pl.Series(days.astype(np.int32)).set(pl.Series(days < 0), None).cast(pl.Date)


def _codes(labels, code: np.ndarray) -> pl.Series:
    """Code indexes (-1 = null) as their labels."""
    code = np.asarray(code).astype(np.int64)
    return pl.Series([str(x) for x in labels]).gather(pl.Series(code).set(pl.Series(code < 0), None))


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    return prefix + pl.Series(numbers).cast(pl.String).str.zfill(width)


def _snapshots_frame(t: int, rows: dict, loan_ids: pl.Series, collector_ids: pl.Series) -> pl.DataFrame:
    """One month of snapshots (built month by month so the simulation's arrays are released early)."""
    return pl.DataFrame({
        "month": pl.repeat(month_date(t), rows["loan"].size, eager=True),
        "loan_id": loan_ids.gather(rows["loan"]),
        "branch_id": _codes(MANAGING_BRANCH_IDS, rows["branch"]),
        "outstanding_principal": _money(rows["out"]),
        "overdue_principal": _money(rows["odp"]),
        "overdue_interest": _money(rows["odi"]),
        "dpd": rows["dpd"],
        "booked_class": rows["booked"],
        "status": _codes(schema.STATUSES, rows["status"]),
        "tech_overdue": rows["tech_overdue"],
        "overdue_cause": _codes(schema.CAUSES, rows["cause"]),
        "collector_id": _codes(collector_ids, rows["collector"]),
        "restructured": rows["restructured"],
        "collateral_value": _money(rows["collateral"]),
        "amount_due": _money(rows["due"]),
        "amount_paid": _money(rows["paid"]),
        "disposed_principal": _money(rows["disposed"]),
    })


def _actions_frame(t: int, actions: dict, loan_ids: pl.Series, collector_ids: pl.Series) -> pl.DataFrame:
    """One month of collection actions; ids are A + yyyymm + a sequence number within the month."""
    size = actions["loan"].size
    return pl.DataFrame({
        "month": pl.repeat(month_date(t), size, eager=True),
        "action_id": _ids(f"A{month_date(t):%Y%m}", np.arange(size), 7),
        "loan_id": loan_ids.gather(actions["loan"]),
        "collector_id": _codes(collector_ids, actions["collector"]),
        "action_date": _dates(actions["date"]),
        "channel": _codes(schema.CHANNELS, actions["channel"]),
        "outcome": _codes(schema.OUTCOMES, actions["outcome"]),
        "promised_amount": _money(actions["promised"]),
        "promised_date": _dates(actions["promised_date"]),
        "amount_collected": _money(actions["collected"]),
        "cost": _money(actions["cost"]),
    })


def _loans_frame(loans: dict, seen: np.ndarray, loan_ids: pl.Series) -> pl.DataFrame:
    v = {k: a[seen] for k, a in loans.items()}
    df = pl.DataFrame({
        "loan_id": loan_ids.gather(np.flatnonzero(seen)),
        "customer_id": _ids("C", v["customer"], 9),
        "branch_id": _codes([b[0] for b in BRANCHES], v["branch"]),
        "product": _codes(PRODUCT_NAMES, v["product"]),
        "origination_date": _dates(_first_day(v["orig"]) + v["orig_day"] - 1),
        "maturity_date": _dates(_first_day(v["last_due"]) + v["due_day"] - 1),
        "principal": _money(v["principal"]),
        "annual_rate": v["rate"],
        "term_months": v["term"],
        "repayment_method": _codes(schema.REPAYMENT_METHODS, v["method"]),
        "guarantee_type": _codes(schema.GUARANTEE_TYPES, v["guarantee"]),
        "collateral_value": _money(v["collateral"]),
        "borrower_age": v["age"],
        "annual_income": _money(v["income"]),
        "industry": _codes(INDUSTRY_NAMES, v["industry"]),
        "internal_rating": _codes(schema.RATINGS, v["rating"]),
    })
    return schema.conform(df, schema.LOANS)


def _collectors_frame(collectors) -> tuple[pl.DataFrame, pl.Series]:
    branch_ids = np.array([b[0] for b in BRANCHES])[collectors["branch"]]
    number = np.arange(branch_ids.size) - collectors["offset"][collectors["branch"], 0] + 1
    ids = pl.Series(branch_ids) + "C" + pl.Series(number).cast(pl.String).str.zfill(2)
    df = pl.DataFrame({"collector_id": ids, "collector_name": collectors["name"],
                       "team": np.array(TEAMS)[collectors["team"]], "branch_id": branch_ids})
    return schema.conform(df, schema.COLLECTORS), ids


def _branches_frame() -> pl.DataFrame:
    df = pl.DataFrame([b[:3] for b in BRANCHES] + [SPECIAL_ASSETS], schema=["branch_id", "branch_name", "region"],
                      orient="row")
    return schema.conform(df, schema.BRANCHES)


def _targets_frame(rng, aggregates: np.ndarray, sim_start: int, window_start: int, end: int) -> pl.DataFrame:
    """Quarterly branch targets set from the opening position and the previous quarter's flows."""
    frames = []
    for q in range(window_start - window_start % 3, end + 1, 3):
        opening = aggregates[q - 1 - sim_start]
        last = aggregates[q - 3 - sim_start: q - sim_start].sum(axis=0)
        k = len(BRANCHES)
        ratio = np.divide(opening[NPL], opening[TOTAL], out=np.zeros(k), where=opening[TOTAL] > 0)
        cents = {
            "overdue_balance_target": opening[OVERDUE] * rng.uniform(.85, .95, k),
            "npl_balance_target": opening[NPL] * rng.uniform(.85, .95, k),
            "cash_recovery_target": last[CASH] * rng.uniform(1.0, 1.2, k),
            "new_npl_ceiling": last[NEW_NPL] * rng.uniform(.8, 1.0, k),
            "writeoff_quota": np.maximum(last[WRITTEN_OFF] * rng.uniform(.9, 1.3, k), opening[NPL] * .05),
        }
        frames.append(pl.DataFrame({
            "branch_id": [b[0] for b in BRANCHES],
            "quarter": [month_date(q)] * k,
            "npl_ratio_ceiling": np.round(np.maximum(ratio * rng.uniform(.9, 1.0, k), .005), 4),
            **{name: _money(np.floor(v + .5)) for name, v in cents.items()},
        }))
    return schema.conform(pl.concat(frames), schema.TARGETS)


# --- public API --------------------------------------------------------------------------------------


PARTITIONED = ("snapshots", "collection_actions")  # the tables produced month by month


def simulate(n_loans: int = DEFAULT_LOANS, n_months: int = DEFAULT_MONTHS, seed: int = DEFAULT_SEED,
             end_month: dt.date = DEFAULT_END_MONTH, *, on_month) -> dict[str, pl.DataFrame]:
    """Simulate the book month by month: ``on_month(table_name, frame)`` receives each window month's
    snapshots and collection actions (conformed to ``schema``, one month each) as soon as it is simulated;
    returns the other tables (branches, loans, collectors, targets, return visits), built after the last month.

    Memory is bounded by the per-loan state (a few dozen numpy arrays of ``n_loans``) plus one month's
    frames: whatever ``on_month`` keeps is the caller's (``generate`` keeps everything, ``write_streamed``
    writes each month's partition and drops it). The random draws are the same either way.
    """
    rng = np.random.default_rng(seed)
    end = month_index(end_month)
    window_start = end - n_months + 1
    sim_start = window_start - BURN_IN_MONTHS
    story = stories(n_months, end_month)
    loans = _draw_loans(rng, n_loans, sim_start, end, story)
    collectors = _draw_collectors(rng)
    book = _Book(loans, collectors, rng, sim_start, story)
    loan_ids = _ids("L", np.arange(n_loans), 9)
    collectors_df, collector_ids = _collectors_frame(collectors)
    collections = _Collections(np.random.default_rng([seed, ACTIONS_STREAM]), collectors, n_loans)
    aggregates = []
    seen = np.zeros(n_loans, bool)
    overdue: list[pl.DataFrame] = []
    for t in range(sim_start, end + 1):
        result = book.step(t)
        aggregates.append(result["aggregates"])
        if t >= window_start:
            seen[result["rows"]["loan"]] = True
            month_rows = schema.conform(_snapshots_frame(t, result["rows"], loan_ids, collector_ids), schema.SNAPSHOTS)
            # the overdue loan-months (a small share of the rows) are kept for the return visits
            overdue.append(month_rows.filter(pl.col("dpd") > 0).select("month", "loan_id", "branch_id", "dpd"))
            on_month("snapshots", month_rows)
            del month_rows
            del result["rows"]
            month_actions = collections.month(rng, t, result["collection"], collectors, loans)
            on_month("collection_actions", schema.conform(_actions_frame(t, month_actions, loan_ids, collector_ids),
                                                          schema.COLLECTION_ACTIONS))
        del result
    tables = {
        "branches": _branches_frame(),
        "loans": _loans_frame(loans, seen, loan_ids),
        "collectors": collectors_df,
        "targets": _targets_frame(rng, np.array(aggregates), sim_start, window_start, end),
    }
    tables["return_visits"] = _visits_frame(np.random.default_rng([seed, VISITS_STREAM]), pl.concat(overdue),
                                            tables["loans"])
    return tables


def _visits_frame(rng: np.random.Generator, snapshots: pl.DataFrame, loans: pl.DataFrame) -> pl.DataFrame:
    """Return visits and surveys (回访): each quarter the managing branch visits about 60% of its customers overdue
    at a month end of the quarter (once, on a random day of the month they were overdue), reaching about 80%;
    a reached customer scores 1-5 (branch-level differences, about 85-90% satisfied overall) and complains in
    about 4% of visits. Its own random stream: the rest of the book is unchanged."""
    overdue = (snapshots.filter(pl.col("dpd") > 0).join(loans.select("loan_id", "customer_id"), on="loan_id")
               .with_columns(pl.col("month").dt.truncate("1q").alias("quarter"))
               .sort("quarter", "branch_id", "customer_id", "month", "loan_id")
               .unique(["quarter", "branch_id", "customer_id"], keep="first", maintain_order=True))
    n = overdue.height
    if n == 0:
        return pl.DataFrame(schema=schema.RETURN_VISITS.polars_schema)
    visited = rng.random(n) < 0.6
    day = rng.integers(1, 29, n)
    channel = rng.choice(len(schema.VISIT_CHANNELS), n, p=[.55, .2, .15, .1])
    reached = rng.random(n) < 0.8
    outcome = np.where(reached, 0, np.where(rng.random(n) < .8, 1, 2))
    branch_codes = overdue["branch_id"].str.extract(r"(\d+)").cast(pl.Int64).fill_null(0).to_numpy()
    unsatisfied = .12 + (branch_codes % 5 - 2) * 0.03  # 6%-18% score 1-3: some branches miss the 85% target
    u = rng.random(n)
    score = np.select([u < .02, u < .05, u < unsatisfied, u < unsatisfied + .43], [1, 2, 3, 4], 5)
    complaint = rng.random(n) < np.where(score <= 2, .5, .02)
    df = overdue.with_columns(
        pl.Series("_visited", visited), pl.Series("_day", day.astype(np.int32)),
        pl.Series("visit_channel", [schema.VISIT_CHANNELS[i] for i in channel], dtype=pl.String),
        pl.Series("visit_outcome", [schema.VISIT_OUTCOMES[i] for i in outcome], dtype=pl.String),
        pl.Series("_score", score.astype(np.int32)), pl.Series("_complaint", complaint),
    ).filter(pl.col("_visited"))
    df = df.with_columns(
        pl.format("V{}", pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(9)).alias("visit_id"),
        (pl.col("month") + pl.duration(days=pl.col("_day") - 1)).cast(pl.Date).alias("visit_date"),
        pl.when(pl.col("visit_outcome") == "reached").then(pl.col("_score")).alias("satisfaction_score"),
        pl.when(pl.col("visit_outcome") == "reached").then(pl.col("_complaint")).otherwise(False).alias("complaint"))
    return schema.conform(df, schema.RETURN_VISITS)


def generate(n_loans: int = DEFAULT_LOANS, n_months: int = DEFAULT_MONTHS, seed: int = DEFAULT_SEED,
             end_month: dt.date = DEFAULT_END_MONTH) -> dict[str, pl.DataFrame]:
    """Simulate the book and return every contract table (conformed to ``schema``), keyed by table name,
    all in memory (small books and tests; ``write_streamed`` writes a big book month by month).

    ``n_loans`` loans are simulated from ``BURN_IN_MONTHS`` before the window; those that leave the
    book before the window never appear, so the loans table holds somewhat fewer.
    """
    parts: dict[str, list[pl.DataFrame]] = {name: [] for name in PARTITIONED}
    tables = simulate(n_loans, n_months, seed, end_month, on_month=lambda name, df: parts[name].append(df))
    by_month = {name: pl.concat(frames) for name, frames in parts.items()}
    return {"branches": tables["branches"], "loans": tables["loans"], "snapshots": by_month["snapshots"],
            "collectors": tables["collectors"], "collection_actions": by_month["collection_actions"],
            "targets": tables["targets"], "return_visits": tables["return_visits"]}


def balance_bridge(snapshots: pl.DataFrame, loans: pl.DataFrame) -> pl.DataFrame:
    """Split every loan-month's cash into interest and principal (all in yuan, one row per loan-month
    that has a previous month), so the balance identity can be checked to the cent::

        interest         = monthly_interest(previous outstanding_principal, annual_rate)
        capitalised      = previous overdue_interest + interest, in the month a loan is restructured
        interest_paid    = previous overdue_interest + interest - overdue_interest - capitalised
        principal_repaid = amount_paid - interest_paid
        drawings         = outstanding - (previous outstanding - principal_repaid
                                          - disposed_principal + capitalised)

    ``drawings`` is zero for every loan except credit cards, where it is the new spending (>= 0).
    """
    cents = lambda c: (pl.col(c) * 100).cast(pl.Int64)  # noqa: E731
    prev = lambda c: cents(c).shift().over("loan_id")  # noqa: E731
    interest = ((prev("outstanding_principal").cast(pl.Float64) * pl.col("annual_rate") / 12) + .5).floor()
    restructure_month = pl.col("restructured") & ~pl.col("restructured").shift().over("loan_id")
    df = (
        snapshots.lazy()
        .join(loans.lazy().select("loan_id", "annual_rate"), on="loan_id")
        .sort("loan_id", "month")
        .with_columns(interest=interest.cast(pl.Int64), has_prev=pl.col("month").shift().over("loan_id").is_not_null())
        .with_columns(capitalised=pl.when(restructure_month).then(prev("overdue_interest") + pl.col("interest"))
                      .otherwise(0))
        .with_columns(interest_paid=prev("overdue_interest") + pl.col("interest") - cents("overdue_interest")
                      - pl.col("capitalised"))
        .with_columns(principal_repaid=cents("amount_paid") - pl.col("interest_paid"))
        .with_columns(drawings=cents("outstanding_principal") - prev("outstanding_principal")
                      + pl.col("principal_repaid") + cents("disposed_principal") - pl.col("capitalised"))
        .filter(pl.col("has_prev"))
    )
    flows = ["interest", "capitalised", "interest_paid", "principal_repaid", "drawings"]
    return df.select("month", "loan_id", *[(pl.col(c).cast(schema.MONEY) / 100).cast(schema.MONEY) for c in flows]
                     ).collect()


def write_demo(root: str | Path, tables: dict[str, pl.DataFrame], force: bool = False) -> Path:
    """Write ``tables`` as a whole store at ``root``, replacing it in one rename.

    The store is written into a fresh sibling folder first, so readers never see half a store.
    A root that already holds Parquet data is only replaced with ``force``; the old folder is
    deleted after the new one is in place. Loose top-level files (a README) are carried over.
    """
    def fill(fresh: Path) -> None:
        for name, table in schema.TABLES.items():
            store.write_table(fresh, table, tables[name])

    return _write_store(Path(root), fill, force)


def write_streamed(root: str | Path, n_loans: int = DEFAULT_LOANS, n_months: int = DEFAULT_MONTHS,
                   seed: int = DEFAULT_SEED, end_month: dt.date = DEFAULT_END_MONTH, force: bool = False,
                   derive_threads: int | None = None, timings: dict[str, float] | None = None) -> dict[str, int]:
    """Simulate the book and write it as a store at ``root`` month by month: each snapshot and action month
    is written to its partition file as soon as it is simulated, so memory stays bounded by the per-loan
    state (a 10M-loan book fits a 24 GB machine). The files are the same as ``write_demo(root, generate(...))``
    writes for the same arguments (tests prove it). Returns the row count of every table; ``timings`` (if given)
    receives the seconds spent simulating and writing the base tables ("generate") and deriving ("derive").
    """
    rows: dict[str, int] = {}

    def fill(fresh: Path) -> None:
        def on_month(name: str, df: pl.DataFrame) -> None:
            store.write_table(fresh, name, df)
            rows[name] = rows.get(name, 0) + df.height

        small = simulate(n_loans, n_months, seed, end_month, on_month=on_month)
        for name, df in small.items():
            store.write_table(fresh, name, df)
            rows[name] = df.height

    _write_store(Path(root), fill, force, derive_threads=derive_threads, timings=timings)
    return {name: rows.get(name, 0) for name in schema.TABLES}


def _write_store(root: Path, fill, force: bool, derive_threads: int | None = None,
                 timings: dict[str, float] | None = None) -> Path:
    """Refuse to replace imported data (or any data without ``force``), let ``fill(fresh)`` write the tables into
    a fresh sibling folder, swap it in, then build the derived tables."""
    if _holds_imports(root):
        raise FileExistsError(f"{root} holds data imported by a user (_meta/import_log.jsonl): the demo never "
                              "replaces it; write the demo to another folder (--output)")
    if _holds_data(root) and not force:
        raise FileExistsError(f"{root} already holds data; pass force=True (--force) to replace it")
    root.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}-new-"))
    started = time.perf_counter()
    try:
        fill(fresh)
        _carry_over_notes(root, fresh)
        store.swap_dir(fresh, root)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    written = time.perf_counter()
    _build_derived(root, threads=derive_threads)
    if timings is not None:
        timings.update(generate=written - started, derive=time.perf_counter() - written)
    return root


def _holds_imports(root: Path) -> bool:
    return (root / "_meta" / "import_log.jsonl").is_file()


def _holds_data(root: Path) -> bool:
    return root.is_dir() and next(root.rglob("*.parquet"), None) is not None


def _carry_over_notes(root: Path, fresh: Path) -> None:
    if root.is_dir():
        for entry in root.iterdir():
            if entry.is_file() and entry.suffix != ".parquet":
                shutil.copy2(entry, fresh / entry.name)


def _build_derived(root: Path, threads: int | None = None) -> None:
    derived.build(root, threads=threads)


def _parse_month(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%Y-%m").date()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics.tools.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=DEFAULT_LOANS, help="loans to simulate (default %(default)s)")
    parser.add_argument("--months", type=int, default=DEFAULT_MONTHS, help="snapshot months (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    parser.add_argument("--end-month", type=_parse_month, default=DEFAULT_END_MONTH, metavar="YYYY-MM",
                        help="last snapshot month (default 2026-10)")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"store folder (default ${store.DATA_ENV} or <project>/data)")
    parser.add_argument("--force", action="store_true", help="replace an existing store")
    args = parser.parse_args(argv)
    root = store.data_root(args.output)
    # Refuse before spending the time to generate.
    if _holds_imports(root):
        print(f"{root} holds data imported by a user: the demo never replaces it; use another --output",
              file=sys.stderr)
        return 1
    if _holds_data(root) and not args.force:
        print(f"{root} already holds data; use --force to replace it", file=sys.stderr)
        return 1
    started = time.perf_counter()
    timings: dict[str, float] = {}
    rows = write_streamed(root, args.loans, args.months, args.seed, args.end_month, force=args.force, timings=timings)
    done = time.perf_counter()
    for name, n in rows.items():
        print(f"{name:<20} {n:>12,} rows")
    print(f"wrote {root} in {done - started:.1f} s (generated and written month by month {timings['generate']:.1f} s, "
          f"derived tables {timings['derive']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
