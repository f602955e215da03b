"""Placing with a cloid is idempotent, whatever the network does: a retry finds the earlier
attempt instead of sending a second order. Faults are injected through ``/admin/faults``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from models.domain import OrderSide
from tests.venues.hyperliquid.conftest import Served, connect
from venues.hyperliquid import (
    ConnectionFailed,
    HyperliquidClient,
    InsufficientMargin,
    LocalSigner,
    OrderOutcome,
    OrderRequest,
    OutcomeUnknown,
    RateLimited,
    ServerError,
    Tif,
    Timeout,
    make_cloid,
)

BPS_50 = Decimal(50)


def _faults(hl: Served, *rules: dict[str, Any]) -> None:
    hl.http.post("/admin/faults", json={"rules": list(rules)}).raise_for_status()


async def _short(client: HyperliquidClient, cloid: str, *, prior_attempt: bool = False):
    return await client.market_order(
        "SOL",
        OrderSide.SELL,
        Decimal(5),
        slippage_bps=BPS_50,
        cloid=cloid,
        prior_attempt=prior_attempt,
    )


async def test_retried_order_with_same_cloid_leaves_one_position(
    hl: Served, client: HyperliquidClient, user
) -> None:
    cloid = make_cloid("pos-7", "short", 1)
    first = await _short(client, cloid)
    retry = await _short(client, cloid, prior_attempt=True)
    assert (first.replayed, retry.replayed) == (False, True)
    assert retry.oid == first.oid and retry.filled_size == first.filled_size == 5
    assert retry.fills == first.fills
    assert (await client.user_state()).position("SOL").size == Decimal(-5)  # type: ignore[union-attr]
    assert hl.account(user.address)["orders"] == 1


async def test_a_fill_whose_response_was_lost_is_found_by_cloid_not_sent_again(
    hl: Served, client: HyperliquidClient, user
) -> None:
    _faults(hl, {"kind": "lost_response", "match": "exchange:order", "count": 1})
    cloid = make_cloid("pos-8", "short", 1)
    result = await _short(client, cloid)
    # The venue filled it, the answer never arrived; the client found it by cloid.
    assert result.replayed and result.outcome is OrderOutcome.FILLED
    assert result.filled_size == 5 and result.fee == Decimal("0.224989")  # 5 x 99.995 x 0.045%
    # The activity retries anyway (say the worker died before recording): still one order.
    again = await _short(client, cloid, prior_attempt=True)
    assert again.oid == result.oid
    assert (await client.user_state()).position("SOL").size == Decimal(-5)  # type: ignore[union-attr]
    assert hl.account(user.address)["orders"] == 1


async def test_a_worker_that_died_after_sending_is_resolved_by_the_next_attempt(
    hl: Served, user
) -> None:
    """What a Temporal retry meets: the first attempt sent the order and died without an
    answer (here: the bare SDK, which does not settle); a new client retries the cloid."""
    import requests
    from eth_account import Account
    from hyperliquid.exchange import Exchange
    from hyperliquid.utils.types import Cloid

    _faults(hl, {"kind": "lost_response", "match": "exchange:order", "count": 1})
    cloid = make_cloid("pos-9", "short", 1)
    sdk = Exchange(Account.from_key(user.private_key_hex()), hl.base_url)
    with pytest.raises(requests.exceptions.RequestException):
        sdk.order("SOL", False, 5, 99.5, {"limit": {"tif": "Ioc"}}, cloid=Cloid(cloid))
    fresh = HyperliquidClient(await connect(hl), user)
    again = await _short(fresh, cloid, prior_attempt=True)
    assert again.replayed and again.filled_size == 5
    assert hl.account(user.address)["orders"] == 1


async def test_a_timeout_that_never_reached_the_book_is_retryable_and_the_retry_places_once(
    hl: Served, user
) -> None:
    venue = await connect(hl, timeout=0.3)
    client = HyperliquidClient(venue, user)
    _faults(hl, {"kind": "timeout", "match": "exchange:order", "count": 1, "delay_s": 0.6})
    cloid = make_cloid("pos-10", "short", 1)
    with pytest.raises(Timeout) as raised:
        await _short(client, cloid)
    assert raised.value.retryable
    result = await _short(client, cloid, prior_attempt=True)
    assert not result.replayed and result.filled_size == 5
    assert hl.account(user.address)["orders"] == 1


async def test_a_server_error_before_acting_is_retryable(
    hl: Served, client: HyperliquidClient, user
) -> None:
    _faults(hl, {"kind": "http_error", "status": 503, "match": "exchange:order", "count": 1})
    cloid = make_cloid("pos-11", "short", 1)
    with pytest.raises(ServerError) as raised:
        await _short(client, cloid)
    assert raised.value.retryable and raised.value.status == 503
    assert hl.account(user.address)["orders"] == 0
    assert (await _short(client, cloid, prior_attempt=True)).filled_size == 5


async def test_rate_limiting_is_retryable_and_needs_no_settling(
    hl: Served, client: HyperliquidClient
) -> None:
    _faults(hl, {"kind": "http_error", "status": 429, "match": "info:*", "count": 1})
    with pytest.raises(RateLimited) as raised:
        await client.user_state()
    assert raised.value.retryable and not raised.value.maybe_applied
    assert (await client.user_state()).positions == ()


async def test_a_refused_connection_is_retryable(user) -> None:
    from basis.ports import free_port
    from venues.hyperliquid import HyperliquidVenue

    with pytest.raises(ConnectionFailed) as raised:
        await HyperliquidVenue.connect(f"http://127.0.0.1:{free_port()}")
    assert raised.value.retryable and not raised.value.maybe_applied


async def test_an_attempt_the_venue_rejected_replays_as_the_same_rejection(
    hl: Served, venue
) -> None:
    poor = LocalSigner.generate()
    hl.fund(poor.address, 20)
    client = HyperliquidClient(venue, poor)
    order = OrderRequest(
        "SOL", OrderSide.SELL, Decimal(10), Decimal("99.5"), make_cloid("r", 1), Tif.IOC
    )
    with pytest.raises(InsufficientMargin):
        await client.place_order(order)
    hl.fund(poor.address, 10_000)  # even with margin now, the same cloid is that rejected order
    with pytest.raises(InsufficientMargin):
        await client.place_order(order, prior_attempt=True)
    assert hl.account(poor.address)["orders"] == 1


async def test_an_injected_partial_fill_is_reported_with_its_fills(
    hl: Served, client: HyperliquidClient
) -> None:
    _faults(
        hl,
        {
            "kind": "partial_fill",
            "match": "exchange:order",
            "count": 1,
            "params": {"fraction": "0.4"},
        },
    )
    result = await _short(client, make_cloid("pos-12", "short", 1))
    assert result.outcome is OrderOutcome.PARTIALLY_FILLED
    assert (result.filled_size, result.remaining_size) == (Decimal(2), Decimal(3))
    assert sum(f.sz for f in result.fills) == 2


async def test_a_transfer_whose_answer_was_lost_is_reported_as_outcome_unknown(
    hl: Served, client: HyperliquidClient, user
) -> None:
    _faults(hl, {"kind": "lost_response", "match": "exchange:usdClassTransfer", "count": 1})
    with pytest.raises(OutcomeUnknown) as raised:
        await client.usd_class_transfer(Decimal(100), to_perp=False)
    assert not raised.value.retryable
    # It did happen: the caller must read the balance before deciding to send it again.
    assert hl.account(user.address)["spot_usdc"] == "100.0"


async def test_a_scenario_outage_makes_the_venue_unavailable_until_it_ends(
    hl: Served, market, clock, client: HyperliquidClient
) -> None:
    from datetime import timedelta

    market.outages.append((clock.now(), clock.now() + timedelta(minutes=10)))
    with pytest.raises(ServerError) as raised:
        await client.user_state()
    assert raised.value.status == 503 and raised.value.retryable
    clock.advance(timedelta(minutes=11))
    assert (await client.user_state()).positions == ()
