"""The backtester: hand-computed accruals, liquidations, attribution that always adds up."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.domain import Venue
from strategy.backtest import (
    BacktestConfig,
    PnlSplit,
    Tick,
    run_backtest,
    run_backtests,
    validate_rows,
)
from strategy.decisions import ExitReason, Urgency
from tests.unit.strategy.backtest.rowkit import T0, WARMUP, H, flat, free_params, row

D = Decimal
CFG = BacktestConfig(start=T0)


def cents(x: Decimal) -> Decimal:
    return x.quantize(D("0.01"), rounding=ROUND_HALF_EVEN)


def test_a_flat_market_accrues_exactly_what_the_rates_say() -> None:
    # $10,000 split in two margins capped at 95% of each half: 4,750 per leg, 3x notional
    # 14,250 at $100: 142.50 SOL short, 142.5 SOL long, debt 9,500. Entered at the close of
    # the first trading hour, held for 9 hours, closed at the end at no cost.
    res = run_backtest(flat(10), CFG, free_params())
    assert res.round_trips == 1 and res.trades[0].exit_reason is ExitReason.END_OF_DATA
    assert res.hours_in_market == 9
    n = 9
    funding = D("142.50") * 100 * D("0.00002") * n
    borrow = -(D(9500) * ((1 + D("0.0876") / 8760) ** n - 1))
    lending = D("142.5") * ((1 + D("0.0438") / 8760) ** n - 1) * 100
    assert res.pnl.funding == cents(funding) == D("2.56")  # 2.565, half-even
    assert res.pnl.borrow == cents(borrow)
    assert res.pnl.lending == cents(lending)
    assert res.pnl.price == res.pnl.fees == res.pnl.staking == 0
    assert abs(res.unattributed_usd) < D("0.0001")


def test_costs_are_charged_on_entry_and_exit() -> None:
    params = free_params()
    costs = params.costs.model_copy(update={"hyperliquid_taker_bps": D(10), "fixed_cost_usd": D(1)})
    res = run_backtest(flat(3), CFG, params.model_copy(update={"costs": costs}))
    # entry: 10 bps of the 14,250 short + $1; a normal exit uses a maker order: 0 bps + $1
    assert res.pnl.fees == D("-16.25")


def test_a_crash_inside_one_hourly_row_liquidates_the_long_when_no_ticks_show_the_way_down() -> (
    None
):
    rows = flat(3)
    rows.append(row(3, price="70", low="70"))
    rows += [row(i, price="70") for i in range(4, 6)]
    res = run_backtest(rows, CFG.model_copy(update={"reenter": False}), free_params())
    assert res.liquidations == 1
    (trade,) = res.trades
    assert trade.exit_reason is ExitReason.LIQUIDATED
    assert res.liquidation_penalty_usd > 0
    assert res.final_equity_usd > 0
    assert abs(res.unattributed_usd) < D("0.0001")


def test_the_same_crash_with_minute_ticks_is_exited_before_liquidation() -> None:
    down = tuple((m, str(100 - m // 2)) for m in range(1, 60))  # -0.5% a minute
    rows = [*flat(3), row(3, price="70", ticks=down), *(row(i, price="70") for i in range(4, 6))]
    res = run_backtest(rows, CFG.model_copy(update={"reenter": False}), free_params())
    assert res.liquidations == 0
    (trade,) = res.trades
    assert trade.urgency is Urgency.URGENT
    assert trade.exit_reason in (ExitReason.HEALTH_EMERGENCY, ExitReason.LIQUIDATION_PROXIMITY)
    assert trade.exit_sol_price > D(100) * D(2) / D("2.7")  # above the long's liquidation price


def test_a_squeeze_liquidates_the_short_and_loses_its_margin() -> None:
    rows = [*flat(3), row(3, price="140", high="140"), row(4, price="140")]
    res = run_backtest(rows, CFG.model_copy(update={"reenter": False}), free_params())
    assert res.liquidations == 1
    assert res.trades[0].exit_reason is ExitReason.LIQUIDATED
    assert abs(res.unattributed_usd) < D("0.0001")


def test_a_slow_slide_is_rebalanced_instead_of_exited() -> None:
    slide = [*flat(2), *(row(i, price=str(100 - 2 * i)) for i in range(2, 8))]
    res = run_backtest(slide, CFG, free_params())
    assert res.rebalances >= 1 and res.liquidations == 0
    assert res.exits == {"end_of_data": 1}


def test_nothing_is_traded_while_a_venue_is_down() -> None:
    down = frozenset({Venue.ASGARD})
    rows = [
        *(row(i) for i in range(-WARMUP, 0)),
        *(row(i, outages=down) for i in range(3)),
        row(3),
        row(4),
    ]
    res = run_backtest(rows, CFG, free_params())
    assert res.denials == {"venue_outage": 3}
    assert res.trades[0].opened_at == T0 + 4 * H


def test_shared_runs_match_separate_runs() -> None:
    rows = flat(12, funding="0.00003")
    configs = [CFG, CFG.model_copy(update={"leverage": D(2)})]
    assert run_backtests(rows, configs, free_params()) == [
        run_backtest(rows, c, free_params()) for c in configs
    ]


def test_pnl_split_refuses_parts_that_do_not_add_up() -> None:
    with pytest.raises(ValueError, match="sum"):
        PnlSplit(
            funding=D(1),
            staking=D(0),
            lending=D(0),
            borrow=D(0),
            price=D(0),
            fees=D(0),
            total=D(2),
        )
    split = PnlSplit.of({k: D("0.005") for k in PnlSplit.model_fields if k != "total"})
    assert split.total == D("0.00")  # each 0.005 rounds to 0.00 (half-even), total is their sum


def test_rows_are_validated() -> None:
    good = row(0)
    cases = [
        ([], "no market rows"),
        ([row(0), row(2)], "consecutive"),
        ([row(0, low="101")], "inconsistent"),
        ([replace(good, time=good.time + timedelta(minutes=5))], "on the hour"),
        ([replace(good, time=good.time.replace(tzinfo=None))], "timezone"),
        ([replace(good, ticks=(Tick(at=good.time, sol=D(100), perp=D(100)),))], "ticks"),
    ]
    for rows, match in cases:
        with pytest.raises(ValueError, match=match):
            validate_rows(rows)


price_moves = st.lists(
    st.decimals(min_value=D("-0.08"), max_value=D("0.08"), places=4), min_size=30, max_size=80
)
fundings = st.decimals(min_value=D("-0.0001"), max_value=D("0.0002"), places=7)


@settings(max_examples=40, deadline=None)
@given(
    moves=price_moves,
    funding=fundings,
    lev=st.sampled_from([D("1.5"), D(2), D(3)]),
    taker=st.decimals(min_value=D(0), max_value=D(20), places=1),
)
def test_pnl_parts_always_sum_to_the_total_and_nothing_goes_unattributed(
    moves: list[Decimal], funding: Decimal, lev: Decimal, taker: Decimal
) -> None:
    price = D(100)
    rows = [row(i, funding=str(funding)) for i in range(-WARMUP, 0)]
    for i, m in enumerate(moves):
        new = (price * (1 + m)).quantize(D("0.0001"))
        rows.append(row(i, open_=price, price=new, funding=str(funding)))
        price = new
    params = free_params()
    params = params.model_copy(
        update={"costs": params.costs.model_copy(update={"hyperliquid_taker_bps": taker})}
    )
    res = run_backtest(rows, BacktestConfig(start=T0, leverage=lev, min_net_apy=D(-1)), params)
    p = res.pnl
    assert p.funding + p.staking + p.lending + p.borrow + p.price + p.fees == p.total
    assert res.final_equity_usd == res.capital_usd + p.total
    assert abs(res.unattributed_usd) < D("0.001")
    for t in res.trades:
        tp = t.pnl
        assert tp.funding + tp.staking + tp.lending + tp.borrow + tp.price + tp.fees == tp.total
