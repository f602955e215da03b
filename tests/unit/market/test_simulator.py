"""The scenario simulator: deterministic, the venue's funding formula, and each scenario doing
what its name says."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from models.domain import Asset, Protocol, Venue
from strategy import is_valid_hl_price
from venues.market import DEFAULT_START, SCENARIOS, MarketSimulator, MarketSource
from venues.market.simulator import funding_from_premium, hourly_funding

D = Decimal
H = timedelta(hours=1)
S = DEFAULT_START


def at(hours: float) -> datetime:
    return S + timedelta(hours=hours)


def fingerprint(sim: MarketSimulator, hours: list[float]) -> list[str]:
    out = []
    for h in hours:
        st = sim.state_at(S + timedelta(hours=h))
        out.append(
            f"{st.sol_price}|{st.perp_mark}|{st.funding_rate}|{st.lst_market_price_sol[Asset.JITOSOL]}"
        )
    return out


PROBE = [-100.5, 0, 0.25, 13.7, 72.4, 200.0, 1000.1]


def test_the_same_seed_gives_the_same_path_whatever_the_order_of_queries() -> None:
    a, b = MarketSimulator("crash", seed=11), MarketSimulator("crash", seed=11)
    forward = fingerprint(a, PROBE)
    backward = list(reversed(fingerprint(b, list(reversed(PROBE)))))
    assert forward == backward
    assert a.funding_history(at(-10), at(10)) == b.funding_history(at(-10), at(10))


def test_different_seeds_give_different_paths() -> None:
    assert fingerprint(MarketSimulator(seed=1), PROBE[2:]) != fingerprint(
        MarketSimulator(seed=2), PROBE[2:]
    )


def test_another_process_computes_the_same_market() -> None:
    code = (
        "import json; from datetime import timedelta;"
        "from venues.market.simulator import MarketSimulator, DEFAULT_START as S;"
        "s = MarketSimulator('crash', seed=11);"
        "print(json.dumps([f'{x.sol_price}|{x.perp_mark}|{x.funding_rate}|"
        '{x.lst_market_price_sol["jitoSOL"]}\' for x in '
        f"(s.state_at(S + timedelta(hours=h)) for h in {PROBE!r})]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PATH": ""},
        timeout=60,
    )
    assert json.loads(out.stdout) == fingerprint(MarketSimulator("crash", seed=11), PROBE)


@pytest.mark.parametrize(
    ("premium", "hourly"),
    [
        (0.0, 0.0000125),  # interest only: ~11% a year to shorts
        (0.0005, 0.0000125),  # inside the clamp band the rate stays at the interest
        (-0.0004, 0.0000125),
        (0.0007, 0.000025),  # (0.0007 - 0.0005) / 8
        (-0.001, -0.0000625),  # (-0.001 + 0.0005) / 8
        (1.0, 0.04),  # the hourly cap
        (-1.0, -0.04),
    ],
)
def test_funding_follows_the_venue_formula_and_cap(premium: float, hourly: float) -> None:
    assert funding_from_premium(premium) == pytest.approx(hourly, abs=1e-15)
    assert float(hourly_funding(D(repr(premium)))) == pytest.approx(hourly, abs=1e-15)


def test_a_settlement_is_the_rate_in_force_during_its_hour() -> None:
    sim = MarketSimulator()
    points = sim.funding_history(at(-3), at(5))
    assert [p.time for p in points] == [S + timedelta(hours=h) for h in range(-3, 5)]
    for p in points:
        assert p.rate == sim.state_at(p.time - timedelta(minutes=30)).funding_rate
        assert p.rate == sim.settled_funding(p.time)
        assert funding_from_premium(float(p.premium)) == pytest.approx(float(p.rate), abs=2e-10)


def test_the_prediction_converges_to_the_settlement_within_the_hour() -> None:
    sim = MarketSimulator()
    t = S + timedelta(hours=10)
    late = sim.predicted_funding(t + timedelta(minutes=59, seconds=59))
    assert late == sim.settled_funding(t + H)


def test_history_exists_before_the_start_for_the_lookback() -> None:
    points = MarketSimulator().funding_history(S - timedelta(hours=168), S)
    assert len(points) == 168


def test_calm_pays_shorts_about_twenty_percent_a_year_with_low_volatility() -> None:
    rates = [float(p.rate) for p in MarketSimulator("calm").funding_history(S, S + 14 * 24 * H)]
    mean = sum(rates) / len(rates)
    std = math.sqrt(sum((r - mean) ** 2 for r in rates) / len(rates))
    assert 0.12 < mean * 8760 < 0.30
    assert std / (sum(abs(r) for r in rates) / len(rates)) < 0.5
    assert min(rates) >= 0.0000125 - 1e-12  # never below the interest floor when calm


def test_funding_flip_turns_negative_and_stays() -> None:
    sim = MarketSimulator("funding-flip")
    before = sim.funding_history(S, S + 96 * H)
    after = sim.funding_history(S + 100 * H, S + 14 * 24 * H)
    assert sum(p.rate for p in before) > 0
    assert all(p.rate < 0 for p in after)


def test_crash_takes_thirty_percent_off_sol_within_the_hour() -> None:
    sim = MarketSimulator("crash")
    before, after = sim.sol_f(S + 72 * H), sim.sol_f(S + 73 * H)
    assert after / before < 0.75
    lo, _ = sim.price_range(S + 72 * H, S + 73 * H)
    assert float(lo) == pytest.approx(min(after, before), rel=0.03)
    assert sim.funding_rate(S + 72.5 * H) < 0  # the perp trades at a discount in the crash


def test_lst_depeg_prices_jitosol_below_its_exchange_rate() -> None:
    sim = MarketSimulator("lst-depeg")
    st = sim.state_at(S + 55 * H)
    dev = st.lst_market_price_sol[Asset.JITOSOL] / st.lst_exchange_rate[Asset.JITOSOL] - 1
    assert dev < D("-0.03")
    calm = sim.state_at(S + 20 * H)
    dev = calm.lst_market_price_sol[Asset.JITOSOL] / calm.lst_exchange_rate[Asset.JITOSOL] - 1
    assert abs(dev) < D("0.005")


def test_lst_exchange_rates_accrue_their_staking_yield() -> None:
    sim = MarketSimulator()
    a = sim.state_at(S).lst_exchange_rate[Asset.JITOSOL]
    b = sim.state_at(S + 8760 * H).lst_exchange_rate[Asset.JITOSOL]
    assert b / a == pytest.approx(D(repr(math.exp(0.072))), rel=D("1e-8"))


def test_venue_outage_windows() -> None:
    sim = MarketSimulator("venue-outage")
    assert sim.state_at(S + 29 * H).outages == frozenset()
    assert sim.state_at(S + 31 * H).outages == {Venue.ASGARD}
    assert sim.state_at(S + 61 * H).outages == {Venue.HYPERLIQUID}
    assert sim.outages_between(S + 35 * H, S + 36 * H) == {Venue.ASGARD}
    assert sim.outages_between(S + 36 * H, S + 37 * H) == frozenset()


def test_borrow_spike_raises_usdc_borrow_rates_through_utilisation() -> None:
    sim = MarketSimulator("borrow-spike")

    def usdc(h: float, p: Protocol) -> Decimal:
        st = sim.state_at(S + timedelta(hours=h))
        return next(x for x in st.protocols if x.protocol is p).borrow_apy["USDC"]

    assert usdc(20, Protocol.KAMINO) < D("0.15")
    assert usdc(55, Protocol.KAMINO) > D("0.35")
    assert usdc(55, Protocol.SOLEND) < D("0.15")


def test_lending_terms_look_like_the_venues() -> None:
    st = MarketSimulator().state_at(S)
    for p in st.protocols:
        assert D("0.02") < p.borrow_apy["USDC"] < D("0.2")
        assert D("0.02") < p.lend_apy["SOL"] < D("0.08")
        assert p.lend_apy["jitoSOL"] < D("0.01")
        assert D("0.8") <= p.liquidation_ltv < 1
        assert p.borrow_capacity_usd > 0


def test_the_book_is_on_the_venues_tick_and_lot() -> None:
    book = MarketSimulator().order_book(S + 5 * H)
    assert len(book.bids) == len(book.asks) == 20
    assert book.bids[0].px < book.mid < book.asks[0].px
    assert [b.px for b in book.bids] == sorted((b.px for b in book.bids), reverse=True)
    assert [a.px for a in book.asks] == sorted(a.px for a in book.asks)
    for lvl in (*book.bids, *book.asks):
        assert is_valid_hl_price(lvl.px, 2)
        assert lvl.sz > 0 and lvl.sz == lvl.sz.quantize(D("0.01"))


def test_swaps_cost_more_when_larger_and_under_stress() -> None:
    sim = MarketSimulator("crash")
    small = sim.swap_slippage_bps(Asset.SOL, D(10_000), S)
    large = sim.swap_slippage_bps(Asset.SOL, D(5_000_000), S)
    stressed = sim.swap_slippage_bps(Asset.SOL, D(10_000), S + 80 * H)
    assert small < large and small < stressed


def test_it_is_a_market_source_and_every_scenario_builds() -> None:
    for name in SCENARIOS:
        source: MarketSource = MarketSimulator(name)
        st = source.state_at(S)
        lo, hi = source.price_range(S, S + H)
        assert lo <= st.sol_price <= hi


def test_unknown_scenarios_and_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        MarketSimulator("boom")
    with pytest.raises(ValueError, match="timezone"):
        MarketSimulator(start=S.replace(tzinfo=None))
