"""Funding accrual, and the issue's done-when: the real client opens, reports and closes a 3x
short SOL position on the emulator under injected faults, with hand-computed fills, fees,
funding payments and liquidation price.

SOL trades at 100 (scripted; mark = oracle): the synthetic book's best bid is 99.995 and its
best ask 100.01. Fees: taker 0.045%. USDC amounts are rounded to 6 decimals (half-even)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from decimal import Decimal

import pytest

from models.domain import OrderSide
from tests.venues.hyperliquid.conftest import START, ScriptedMarket, Served, connect, serve
from venues.hyperliquid import (
    HyperliquidClient,
    LeverageType,
    LocalSigner,
    OrderOutcome,
    ServerError,
    make_cloid,
)
from venues.market import SimClock

BPS_50 = Decimal(50)
HOUR = START.replace(minute=0)  # START is 09:30: funding settles at 10:00, 11:00, ...


async def test_funding_accrues_hour_by_hour_on_a_fast_clock(market: ScriptedMarket) -> None:
    # Rates settled at 10:00, 11:00, ...; a short of 10 SOL at an oracle of 100 receives
    # 10 x 100 x rate each hour: the table gives both, by hour.
    table = [
        (Decimal("0.0001"), Decimal("0.1")),
        (Decimal("-0.00005"), Decimal("-0.05")),
        (Decimal("0.00002"), Decimal("0.02")),
        (Decimal("0.0000125"), Decimal("0.0125")),
        (Decimal("0.0003"), Decimal("0.3")),
        (Decimal("-0.0002"), Decimal("-0.2")),
        (Decimal("0.00004"), Decimal("0.04")),
        (Decimal("0.00001"), Decimal("0.01")),
        (Decimal("-0.00003"), Decimal("-0.03")),
        (Decimal("0.00025"), Decimal("0.25")),
        (Decimal("0.00006"), Decimal("0.06")),
    ]
    hours = [HOUR + timedelta(hours=i + 1) for i in range(len(table))]
    for hour, (rate, _) in zip(hours, table, strict=True):
        market.set_rate(hour, rate)
    clock = SimClock(START, speed=7200.0)  # two simulated hours per real second
    for served in serve(market, clock):
        user = LocalSigner.generate()
        served.fund(user.address, 5_000)
        client = HyperliquidClient(await connect(served), user)
        opened = await client.market_order(
            "SOL", OrderSide.SELL, Decimal(10), slippage_bps=BPS_50, cloid=make_cloid("f", 1)
        )
        # Setup takes a few simulated minutes: count from the first hour after the fill.
        first = next(i for i, h in enumerate(hours) if h > opened.fills[0].time)
        window = hours[first : first + 5]
        deadline = time.monotonic() + 10
        while clock.now() < window[-1] + timedelta(minutes=10):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        clock.set_speed(1.0)  # hold still while we read
        payments = await client.funding_payments(START, window[-1])
        assert [p.time for p in payments] == window
        assert [p.rate for p in payments] == [r for r, _ in table[first : first + 5]]
        assert [p.usdc for p in payments] == [u for _, u in table[first : first + 5]]
        assert all(p.size == Decimal(-10) and p.coin == "SOL" for p in payments)
        everything = await client.funding_payments(START)
        position = (await client.user_state()).position("SOL")
        assert position is not None and position.cum_funding is not None
        # The venue's sign for cumulative funding: paid is positive.
        assert position.cum_funding.all_time == -sum(p.usdc for p in everything)


async def test_funding_settles_every_hour_a_clock_jump_skips(hl: Served, market, clock) -> None:
    user = LocalSigner.generate()
    hl.fund(user.address, 5_000)
    client = HyperliquidClient(await connect(hl), user)
    await client.market_order(
        "SOL", OrderSide.BUY, Decimal(4), slippage_bps=BPS_50, cloid=make_cloid("j", 1)
    )
    hl.http.post("/admin/clock/advance", json={"seconds": 3 * 3600}).raise_for_status()
    payments = await client.funding_payments(START)
    # A long of 4 at 100 pays 4 x 100 x 0.0000125 = 0.005 each hour.
    assert [p.usdc for p in payments] == [Decimal("-0.005")] * 3


async def test_client_opens_reports_and_closes_a_3x_short_sol_position_under_faults(
    hl: Served, market: ScriptedMarket
) -> None:
    master = LocalSigner.generate()
    hl.fund(master.address, 1_500)
    venue = await connect(hl)
    owner = HyperliquidClient(venue, master)
    # Production shape: an API wallet trades for the user's master account.
    agent = LocalSigner.generate()
    await owner.approve_agent(agent.address, "basis")
    client = HyperliquidClient(venue, agent, account_address=master.address)
    hl.http.post(
        "/admin/faults",
        json={
            "rules": [
                {"kind": "latency", "match": "info:*", "delay_s": 0.02},
                {"kind": "http_error", "status": 503, "match": "exchange:order", "count": 1},
                {"kind": "lost_response", "match": "exchange:order", "count": 1},
            ]
        },
    ).raise_for_status()

    # ---- open: 30 SOL short at 3x (3,000 of notional on 1,500) ----
    await client.update_leverage("SOL", 3, cross=True)
    cloid = make_cloid("position-42", "hedge", 1)
    with pytest.raises(ServerError) as first_attempt:
        await client.market_order(
            "SOL", OrderSide.SELL, Decimal(30), slippage_bps=BPS_50, cloid=cloid
        )
    assert first_attempt.value.retryable
    opened = await client.market_order(
        "SOL", OrderSide.SELL, Decimal(30), slippage_bps=BPS_50, cloid=cloid, prior_attempt=True
    )
    # The retry's answer was lost after the fill; the client found it by cloid.
    assert opened.replayed and opened.outcome is OrderOutcome.FILLED
    assert (opened.filled_size, opened.avg_px) == (Decimal(30), Decimal("99.995"))
    fee_open = Decimal("1.349932")  # 30 x 99.995 x 0.00045 = 1.3499325 -> half-even
    assert opened.fee == fee_open

    # ---- report ----
    state = await client.user_state()
    short = state.position("SOL")
    assert short is not None
    assert (short.size, short.entry_px) == (Decimal(-30), Decimal("99.995"))
    assert (short.leverage_type, short.leverage) == (LeverageType.CROSS, 3)
    assert short.margin_used == Decimal(1000)  # 30 x 100 / 3
    assert short.unrealized_pnl == Decimal("-0.15")  # -30 x (100 - 99.995)
    # Liquidation when equity = maintenance (2.5% of notional at SOL's max 20x):
    # 1500 - fee - 30 (P - 99.995) = 0.025 x 30 P  =>  P = (1500 - fee + 2999.85) / 30.75
    liq = (Decimal(1500) - fee_open + Decimal("2999.85")) / Decimal("30.75")
    assert short.liquidation_px == liq.quantize(Decimal("0.00000001"))  # 146.29268514
    assert state.account_value == Decimal(1500) - fee_open - Decimal("0.15")

    # ---- three hours of funding: rates 0.0001, 0.00002, -0.00005 ----
    for i, rate in enumerate((Decimal("0.0001"), Decimal("0.00002"), Decimal("-0.00005"))):
        market.set_rate(HOUR + timedelta(hours=i + 1), rate)
    hl.emulator.advance(timedelta(hours=3))
    payments = await client.funding_payments(START)
    assert [p.usdc for p in payments] == [Decimal("0.3"), Decimal("0.06"), Decimal("-0.15")]
    funding = sum(p.usdc for p in payments)

    # ---- close, half at a time (an injected partial fill), reduce-only ----
    hl.http.post(
        "/admin/faults",
        json=[
            {
                "kind": "partial_fill",
                "match": "exchange:order",
                "count": 1,
                "params": {"fraction": "0.5"},
            }
        ],
    ).raise_for_status()
    first = await client.close_position(
        "SOL", slippage_bps=BPS_50, cloid=make_cloid("position-42", "close", 1)
    )
    assert first is not None and first.outcome is OrderOutcome.PARTIALLY_FILLED
    assert (first.filled_size, first.avg_px) == (Decimal(15), Decimal("100.01"))
    second = await client.close_position(
        "SOL", slippage_bps=BPS_50, cloid=make_cloid("position-42", "close", 2)
    )
    assert second is not None and second.outcome is OrderOutcome.FILLED and second.filled_size == 15
    fee_close_half = Decimal("0.675068")  # 15 x 100.01 x 0.00045 = 0.6750675 -> half-even
    assert first.fee == second.fee == fee_close_half
    realized = Decimal(30) * (Decimal("99.995") - Decimal("100.01"))  # -0.45
    assert sum(f.closed_pnl for f in first.fills + second.fills) == realized

    final = await client.user_state()
    assert final.positions == ()
    expected_cash = Decimal(1500) - fee_open + funding - 2 * fee_close_half + realized
    assert final.account_value == final.withdrawable == expected_cash  # 1497.735 - 0.000068
    fills = await client.fills(START)
    assert [f.direction for f in fills] == ["Open Short", "Close Short", "Close Short"]
    assert hl.account(master.address)["orders"] == 3  # one open, two closes: nothing doubled


async def test_funding_on_the_random_walk_is_what_its_market_source_says() -> None:
    from decimal import ROUND_HALF_EVEN

    from venues.emulators.hyperliquid.numbers import to_tick
    from venues.market.random_walk import RandomWalkSource

    walk = RandomWalkSource(seed=11)
    clock = SimClock(START)
    for served in serve(walk, clock):
        user = LocalSigner.generate()
        served.fund(user.address, 10_000)
        client = HyperliquidClient(await connect(served), user)
        await client.market_order(
            "SOL", OrderSide.SELL, Decimal(2), slippage_bps=BPS_50, cloid=make_cloid("rw", 1)
        )
        served.emulator.advance(timedelta(hours=3))
        payments = await client.funding_payments(START)
        points = walk.funding_history(START, START + timedelta(hours=3, minutes=1))
        assert [p.time for p in payments] == [p.time for p in points]
        for paid, point in zip(payments, points, strict=True):
            oracle = to_tick(walk.state_at(point.time).sol_price, 2)
            expected = (2 * oracle * point.rate).quantize(Decimal("0.000001"), ROUND_HALF_EVEN)
            assert (paid.rate, paid.usdc) == (point.rate, expected)
        history = await client.venue.funding_history("SOL", START - timedelta(hours=5))
        assert [(h.time, h.rate) for h in history] == [
            (p.time, p.rate) for p in walk.funding_history(START - timedelta(hours=5), clock.now())
        ]
