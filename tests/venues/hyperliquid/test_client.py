"""Our client, over the real SDK, exercises every operation against the emulator served on a
real local port. SOL trades at 100 (scripted): best bid 99.995, best ask 100.01."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from hyperliquid.utils.constants import MAINNET_API_URL

from models.domain import OrderSide
from tests.venues.hyperliquid.conftest import START, Served, connect
from venues.hyperliquid import (
    CancelOutcome,
    HyperliquidClient,
    HyperliquidVenue,
    InsufficientMargin,
    LeverageType,
    LocalSigner,
    MinNotionalViolation,
    OrderOutcome,
    OrderRequest,
    PostOnlyWouldCross,
    ReduceOnlyViolation,
    TickSizeViolation,
    Tif,
    UnknownAsset,
    make_cloid,
)
from venues.hyperliquid.errors import ActionRejected, BadSignature

BPS_50 = Decimal(50)


# ---- market data ----------------------------------------------------------------------------


async def test_sol_is_resolved_from_meta_at_its_mainnet_index(venue: HyperliquidVenue) -> None:
    sol = venue.asset("SOL")
    assert (sol.index, sol.sz_decimals, sol.max_leverage) == (5, 2, 20)
    assert [a.index for a in venue.assets] == list(range(len(venue.assets)))
    with pytest.raises(UnknownAsset):
        venue.asset("DOGE")


async def test_market_data_reads_mids_book_contexts_and_predicted_funding(
    venue: HyperliquidVenue,
) -> None:
    assert await venue.mid("SOL") == Decimal(100)
    book = await venue.l2_book("SOL")
    assert (book.best_bid, book.best_ask) == (Decimal("99.995"), Decimal("100.01"))
    assert len(book.bids) == len(book.asks) == 20
    ctx = (await venue.asset_contexts())["SOL"]
    assert (ctx.mark_px, ctx.oracle_px, ctx.funding_rate) == (
        Decimal(100),
        Decimal(100),
        Decimal("0.0000125"),
    )
    predicted = await venue.predicted_funding("SOL")
    assert predicted is not None and predicted.rate == Decimal("0.0000125")
    assert predicted.next_funding_time == START.replace(minute=0) + timedelta(hours=1)


async def test_funding_history_pages_past_the_venues_500_row_limit(
    venue: HyperliquidVenue, market
) -> None:
    market.set_rate(START.replace(minute=0) - timedelta(hours=600), Decimal("0.0004"))
    since = START - timedelta(days=30)
    rows = await venue.funding_history("SOL", since)
    assert len(rows) == 720  # one per hour for 30 days: two pages
    times = [r.time for r in rows]
    assert times == sorted(set(times))
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(times))
    assert next(
        r for r in rows if r.time == START.replace(minute=0) - timedelta(hours=600)
    ).rate == Decimal("0.0004")


# ---- orders ---------------------------------------------------------------------------------


async def test_a_gtc_order_rests_is_found_by_cloid_and_cancelled_by_cloid(
    client: HyperliquidClient,
) -> None:
    cloid = make_cloid("pos-1", "short", 1)
    order = OrderRequest("SOL", OrderSide.BUY, Decimal(1), Decimal(95), cloid, Tif.GTC)
    placed = await client.place_order(order)
    assert placed.outcome is OrderOutcome.RESTING and placed.filled_size == 0
    assert [o.cloid for o in await client.open_orders()] == [cloid]
    status = await client.order_status(cloid)
    assert status is not None and status.is_open and status.order.oid == placed.oid
    assert await client.cancel_order("SOL", cloid) is CancelOutcome.CANCELED
    assert await client.cancel_order("SOL", cloid) is CancelOutcome.NOT_OPEN
    assert await client.open_orders() == []


async def test_a_post_only_order_rests_and_one_that_would_cross_is_refused(
    client: HyperliquidClient,
) -> None:
    rest = OrderRequest(
        "SOL", OrderSide.SELL, Decimal(1), Decimal(101), make_cloid("alo", 1), Tif.ALO
    )
    assert (await client.place_order(rest)).outcome is OrderOutcome.RESTING
    cross = OrderRequest(
        "SOL", OrderSide.SELL, Decimal(1), Decimal(99), make_cloid("alo", 2), Tif.ALO
    )
    with pytest.raises(PostOnlyWouldCross):
        await client.place_order(cross)


async def test_a_market_order_fills_and_reports_its_fills_and_fee(
    client: HyperliquidClient,
) -> None:
    result = await client.market_order(
        "SOL", OrderSide.SELL, Decimal(3), slippage_bps=BPS_50, cloid=make_cloid("m", 1)
    )
    assert result.outcome is OrderOutcome.FILLED and not result.replayed
    assert (result.filled_size, result.avg_px) == (Decimal(3), Decimal("99.995"))
    assert [f.sz for f in result.fills] == [Decimal(3)]
    assert result.fee == Decimal("0.134993")  # 3 x 99.995 x 0.045% = 0.13499325
    position = (await client.user_state()).position("SOL")
    assert position is not None and position.size == Decimal(-3)


async def test_reduce_only_closes_and_never_opens(client: HyperliquidClient) -> None:
    with pytest.raises(ReduceOnlyViolation) as refused:
        await client.market_order(
            "SOL",
            OrderSide.BUY,
            Decimal(1),
            slippage_bps=BPS_50,
            cloid=make_cloid("ro", 1),
            reduce_only=True,
        )
    assert refused.value.venue_message == "Reduce only order would increase position. asset=5"
    await client.market_order(
        "SOL", OrderSide.SELL, Decimal(2), slippage_bps=BPS_50, cloid=make_cloid("ro", 2)
    )
    closed = await client.close_position("SOL", slippage_bps=BPS_50, cloid=make_cloid("ro", 3))
    assert closed is not None and closed.filled_size == 2
    assert (await client.user_state()).positions == ()
    assert (
        await client.close_position("SOL", slippage_bps=BPS_50, cloid=make_cloid("ro", 4)) is None
    )


async def test_venue_refusals_come_back_as_typed_errors_with_the_venues_words(
    hl: Served, venue: HyperliquidVenue
) -> None:
    poor = LocalSigner.generate()
    hl.fund(poor.address, 50)
    client = HyperliquidClient(venue, poor)
    cases = [
        (
            OrderRequest(
                "SOL", OrderSide.SELL, Decimal(30), Decimal("99.5"), make_cloid("e", 1), Tif.IOC
            ),
            InsufficientMargin,
        ),
        (
            OrderRequest("SOL", OrderSide.BUY, Decimal("0.05"), Decimal(100), make_cloid("e", 2)),
            MinNotionalViolation,
        ),
        (
            OrderRequest("SOL", OrderSide.BUY, Decimal(1), Decimal("99.1234"), make_cloid("e", 3)),
            TickSizeViolation,
        ),
    ]
    for order, error in cases:
        with pytest.raises(error) as refused:
            await client.place_order(order)
        assert refused.value.venue_message is not None
        assert refused.value.venue_message.endswith("asset=5")
        assert not refused.value.retryable
    stranger = HyperliquidClient(venue, LocalSigner.generate())
    with pytest.raises(BadSignature):
        await stranger.update_leverage("SOL", 3)


# ---- leverage, margin, transfers, agents ----------------------------------------------------


async def test_leverage_cross_and_isolated_and_isolated_margin(client: HyperliquidClient) -> None:
    await client.update_leverage("SOL", 3, cross=True)
    await client.market_order(
        "SOL", OrderSide.SELL, Decimal(30), slippage_bps=BPS_50, cloid=make_cloid("lev", 1)
    )
    p = (await client.user_state()).position("SOL")
    assert p is not None and (p.leverage_type, p.leverage) == (LeverageType.CROSS, 3)
    assert p.margin_used == Decimal(1000)  # 30 x 100 / 3
    await client.close_position("SOL", slippage_bps=BPS_50, cloid=make_cloid("lev", 2))

    await client.update_leverage("SOL", 4, cross=False)
    await client.market_order(
        "SOL", OrderSide.SELL, Decimal(10), slippage_bps=BPS_50, cloid=make_cloid("lev", 3)
    )
    before = (await client.user_state()).position("SOL")
    await client.update_isolated_margin("SOL", Decimal("25.5"))
    after = (await client.user_state()).position("SOL")
    assert before is not None and after is not None
    assert after.leverage_type is LeverageType.ISOLATED
    assert after.margin_used - before.margin_used == Decimal("25.5")
    with pytest.raises(ValueError, match="positive integer"):
        await client.update_leverage("SOL", 0)  # refused before it leaves
    with pytest.raises(ActionRejected, match="Invalid leverage"):
        await client.update_leverage("SOL", 21)  # SOL's maximum is 20
    with pytest.raises(ValueError, match="6 decimals"):
        await client.update_isolated_margin("SOL", Decimal("0.0000001"))


async def test_usd_class_transfer_round_trip(client: HyperliquidClient, hl: Served, user) -> None:
    await client.usd_class_transfer(Decimal(400), to_perp=False)
    assert hl.account(user.address)["spot_usdc"] == "400.0"
    await client.usd_class_transfer(Decimal("150.5"), to_perp=True)
    state = await client.user_state()
    assert state.withdrawable == Decimal("9750.5")
    ledger = await client.venue.ledger_updates(user.address, START - timedelta(days=1))
    assert [u.kind for u in ledger] == ["deposit", "accountClassTransfer", "accountClassTransfer"]


async def test_schedule_cancel_is_set_and_removed(
    client: HyperliquidClient, hl: Served, user
) -> None:
    import time
    from datetime import UTC, datetime

    at = datetime.fromtimestamp(time.time() + 60, tz=UTC)
    await client.schedule_cancel(at)
    assert hl.account(user.address)["schedule_cancel_ms"] == int(at.timestamp() * 1000)
    await client.schedule_cancel(None)
    assert hl.account(user.address)["schedule_cancel_ms"] is None


async def test_an_api_wallet_trades_for_its_master_account(
    agent_client: HyperliquidClient, client: HyperliquidClient, user
) -> None:
    result = await agent_client.market_order(
        "SOL", OrderSide.SELL, Decimal(2), slippage_bps=BPS_50, cloid=make_cloid("agent", 1)
    )
    assert result.outcome is OrderOutcome.FILLED
    # Queries go to the master: the position is the master's.
    master = (await client.user_state()).position("SOL")
    assert master is not None and master.size == Decimal(-2)
    assert (await agent_client.user_state()).position("SOL") == master
    role = await client.venue.user_role(agent_client.signer.address)
    assert (role.role, role.master) == ("agent", user.address.lower())
    agents = await client.venue.extra_agents(user.address)
    assert [a.name for a in agents] == ["bot"]


async def test_a_client_per_user_per_call_is_cheap(venue: HyperliquidVenue, user) -> None:
    import time

    t0 = time.perf_counter()
    for _ in range(1000):
        HyperliquidClient(venue, user)
    assert time.perf_counter() - t0 < 0.5  # no I/O and no meta fetch per client


async def test_the_client_signs_as_mainnet_only_for_the_mainnet_url(hl: Served) -> None:
    assert (await connect(hl)).is_mainnet is False
    meta = {"universe": [{"name": "SOL", "szDecimals": 2, "maxLeverage": 20}]}
    assert HyperliquidVenue(MAINNET_API_URL + "/", meta).is_mainnet is True


async def test_user_funding_pages_past_the_venues_500_row_limit(
    hl: Served, client: HyperliquidClient
) -> None:
    await client.market_order(
        "SOL", OrderSide.SELL, Decimal(1), slippage_bps=BPS_50, cloid=make_cloid("uf", 1)
    )
    hl.emulator.advance(timedelta(hours=600))
    payments = await client.funding_payments(START)
    assert len(payments) == 600
    assert all(b.time - a.time == timedelta(hours=1) for a, b in itertools.pairwise(payments))
    # A short of 1 at 100 receives 1 x 100 x 0.0000125 = 0.00125 an hour.
    assert {p.usdc for p in payments} == {Decimal("0.00125")}
