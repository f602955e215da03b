"""Realised PnL of a live close, split by source."""

from __future__ import annotations

from decimal import Decimal as D

from strategy.realised import RealisedLeg, RealisedShort, realised_pnl


def test_a_flat_market_leaves_only_carry_and_fees() -> None:
    # 5,000 USDC at 3x into jitoSOL at 300 USD: 50 tokens, 10,000 USD borrowed.
    long = RealisedLeg(
        collateral_usd=D(5000),
        tokens_open=D(50),
        tokens_close=D("50.1"),  # lending paid 0.1 token
        debt_open=D(10_000),
        debt_close=D("10040"),  # 40 USD of interest
        exit_price_usd=D(300),
        rate_open=D("1.2"),
        rate_close=D("1.2"),
        sol_price_close=D(250),
        fees_usd=D(15),
    )
    short = RealisedShort(
        sold_usd=D(15_000), bought_usd=D(15_000), fees_usd=D("13.5"), funding_usd=D("120")
    )
    split = realised_pnl(long, short)
    assert split.funding == D("120.00")
    assert split.lending == D("30.00")
    assert split.borrow == D("-40.00")
    assert split.staking == D("0.00")
    assert split.fees == D("-28.50")
    # proceeds 15,030 - 10,040 - 5,000 = -10 on the long; -10 - (-40) - 30 + 15 = 15 price
    assert split.price == D("15.00")
    assert split.total == D("96.50")


def test_an_lst_exchange_rate_gain_is_staking_not_price() -> None:
    long = RealisedLeg(
        collateral_usd=D(5000),
        tokens_open=D(50),
        tokens_close=D(50),
        debt_open=D(10_000),
        debt_close=D(10_000),
        exit_price_usd=D("300.5"),  # the LST rose 0.5 USD because its rate grew
        rate_open=D("1.2"),
        rate_close=D("1.202"),
        sol_price_close=D(250),
    )
    short = RealisedShort(sold_usd=D(15_000), bought_usd=D(15_000), fees_usd=D(0), funding_usd=D(0))
    split = realised_pnl(long, short)
    assert split.staking == D("25.00")
    assert split.price == D("0.00")
    assert split.total == D("25.00")


def test_the_parts_always_sum_to_the_total() -> None:
    long = RealisedLeg(
        collateral_usd=D("4999.99"),
        tokens_open=D("33.333333"),
        tokens_close=D("33.340001"),
        debt_open=D("9999.97"),
        debt_close=D("10012.345678"),
        exit_price_usd=D("287.123456"),
        rate_open=D("1.1"),
        rate_close=D("1.100233"),
        sol_price_close=D("261.01"),
        fees_usd=D("3.333"),
    )
    short = RealisedShort(
        sold_usd=D("15001.01"),
        bought_usd=D("14377.77"),
        fees_usd=D("12.3456"),
        funding_usd=D("-7.7"),
    )
    s = realised_pnl(long, short)
    assert s.funding + s.staking + s.lending + s.borrow + s.price + s.fees == s.total
