"""The emulator answers like the venue: the unmodified SDK against it gets the venue's shapes
and the venue's words for every refusal. SOL trades at 100 (scripted), so the synthetic
book's best bid is 99.995 and best ask 100.01."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account
from hyperliquid.exchange import Exchange
from hyperliquid.utils.constants import MAINNET_API_URL
from hyperliquid.utils.types import Cloid

from tests.venues.hyperliquid.conftest import Served
from venues.hyperliquid import LocalSigner, make_cloid
from venues.hyperliquid.signing import Signature

GTC = {"limit": {"tif": "Gtc"}}
IOC = {"limit": {"tif": "Ioc"}}
ALO = {"limit": {"tif": "Alo"}}


@pytest.fixture
def wallet(hl: Served) -> Any:
    account = Account.create()
    hl.fund(account.address, 10_000)
    return account


@pytest.fixture
def sdk(hl: Served, wallet: Any) -> Exchange:
    """The SDK's own Exchange, unmodified, pointed at the emulator."""
    return Exchange(wallet, hl.base_url)


def _status(response: dict[str, Any]) -> dict[str, Any]:
    assert response["status"] == "ok", response
    status: dict[str, Any] = response["response"]["data"]["statuses"][0]
    return status


def _sign_and_post(hl: Served, signer: LocalSigner, action: dict[str, Any], nonce: int) -> Any:
    sig: Signature = asyncio.run(
        signer.sign_l1_action(
            action, nonce=nonce, vault_address=None, expires_after=None, is_mainnet=False
        )
    )
    body = {"action": action, "nonce": nonce, "signature": sig.to_wire(), "vaultAddress": None}
    return hl.http.post("/exchange", json=body).json()


# ---- signatures and nonces ------------------------------------------------------------------


def test_an_unknown_signer_is_refused_with_the_venues_words(hl: Served) -> None:
    stranger = Account.create()
    response = Exchange(stranger, hl.base_url).order("SOL", True, 1, 100, GTC)
    assert response == {
        "status": "err",
        "response": f"User or API Wallet {stranger.address.lower()} does not exist.",
    }


def test_a_signature_for_mainnet_is_refused_by_a_testnet_venue(hl: Served, wallet: Any) -> None:
    signer = LocalSigner(wallet.key)
    action = {"type": "scheduleCancel"}
    nonce = int(time.time() * 1000)
    sig = asyncio.run(
        signer.sign_l1_action(
            action, nonce=nonce, vault_address=None, expires_after=None, is_mainnet=True
        )
    )
    body = {"action": action, "nonce": nonce, "signature": sig.to_wire(), "vaultAddress": None}
    answer = hl.http.post("/exchange", json=body).json()
    assert answer["status"] == "err" and answer["response"].endswith("does not exist.")
    assert wallet.address.lower() not in answer["response"]


def test_a_reused_nonce_is_refused(hl: Served, wallet: Any) -> None:
    signer = LocalSigner(wallet.key)
    nonce = int(time.time() * 1000)
    first = _sign_and_post(hl, signer, {"type": "scheduleCancel"}, nonce)
    again = _sign_and_post(hl, signer, {"type": "scheduleCancel"}, nonce)
    assert first == {"status": "ok", "response": {"type": "default"}}
    assert again == {"status": "err", "response": f"Invalid nonce: duplicate nonce {nonce}"}


def test_a_nonce_outside_the_time_window_is_refused(hl: Served, wallet: Any) -> None:
    signer = LocalSigner(wallet.key)
    now = int(time.time() * 1000)
    for stale in (now - int(timedelta(days=2, minutes=1).total_seconds() * 1000),):
        answer = _sign_and_post(hl, signer, {"type": "scheduleCancel"}, stale)
        assert answer["status"] == "err" and answer["response"].startswith("Invalid nonce")
    ahead = now + int(timedelta(days=1, minutes=1).total_seconds() * 1000)
    answer = _sign_and_post(hl, signer, {"type": "scheduleCancel"}, ahead)
    assert answer["status"] == "err" and answer["response"].startswith("Invalid nonce")


def test_only_the_hundred_highest_nonces_are_kept(hl: Served, wallet: Any) -> None:
    signer = LocalSigner(wallet.key)
    base = int(time.time() * 1000)
    for i in range(1, 101):
        assert _sign_and_post(hl, signer, {"type": "scheduleCancel"}, base + i)["status"] == "ok"
    # Unused, in the window, but below all of the last hundred: refused.
    below = _sign_and_post(hl, signer, {"type": "scheduleCancel"}, base)
    assert below["status"] == "err" and below["response"].startswith("Invalid nonce")
    assert _sign_and_post(hl, signer, {"type": "scheduleCancel"}, base + 500)["status"] == "ok"


def test_an_action_past_its_expiry_is_refused(hl: Served, wallet: Any) -> None:
    sdk = Exchange(wallet, hl.base_url)
    sdk.set_expires_after(int(time.time() * 1000) - 1)
    answer = sdk.order("SOL", True, 1, 100, GTC)
    assert answer["status"] == "err" and answer["response"].startswith("Action expired")


def test_a_body_that_does_not_deserialise_gets_422(hl: Served) -> None:
    r = hl.http.post("/exchange", json={"action": {"type": "teleport"}, "nonce": 1})
    assert r.status_code == 422
    assert r.text == "Failed to deserialize the JSON body into the target type"
    assert hl.http.post("/info", json={"type": "nonsense"}).status_code == 422


# ---- order checks ---------------------------------------------------------------------------


def test_a_reduce_only_order_without_a_position_is_refused(sdk: Exchange) -> None:
    status = _status(sdk.order("SOL", True, 1, 101, IOC, reduce_only=True))
    assert status == {"error": "Reduce only order would increase position. asset=5"}


def test_an_order_beyond_the_margin_is_refused(hl: Served) -> None:
    poor = Account.create()
    hl.fund(poor.address, 100)
    # 50 SOL at 100 is 5,000 of notional: 250 of margin at the default 20x.
    status = _status(Exchange(poor, hl.base_url).order("SOL", False, 50, 99, IOC))
    assert status == {"error": "Insufficient margin to place order. asset=5"}


def test_an_order_below_ten_dollars_is_refused(sdk: Exchange) -> None:
    status = _status(sdk.order("SOL", True, 0.09, 100, GTC))
    assert status == {"error": "Order must have minimum value of $10. asset=5"}


def test_an_off_tick_price_is_refused(sdk: Exchange) -> None:
    status = _status(sdk.order("SOL", True, 1, 99.1234, GTC))  # six significant figures
    assert status == {"error": "Price must be divisible by tick size. asset=5"}


def test_a_size_off_the_lot_is_refused(sdk: Exchange) -> None:
    status = _status(sdk.order("SOL", True, 1.001, 99, GTC))  # SOL trades in 0.01
    assert status == {"error": "Order has invalid size. asset=5"}


def test_an_ioc_that_cannot_match_is_cancelled(sdk: Exchange) -> None:
    status = _status(sdk.order("SOL", True, 1, 95, IOC))
    assert status == {
        "error": "Order could not immediately match against any resting orders. asset=5"
    }


def test_a_post_only_order_that_would_cross_is_refused(sdk: Exchange) -> None:
    status = _status(sdk.order("SOL", True, 1, 100.5, ALO))
    assert status == {
        "error": "Post only order would have immediately matched, bbo was 99.995@100.01. asset=5"
    }


def test_rejected_orders_are_still_known_by_their_cloid(sdk: Exchange, wallet: Any) -> None:
    cloid = Cloid(make_cloid("rejected"))
    sdk.order("SOL", True, 1, 99.1234, GTC, cloid=cloid)
    found = sdk.info.query_order_by_cloid(wallet.address, cloid)
    assert found["status"] == "order"
    assert found["order"]["status"] == "tickRejected"


# ---- matching -------------------------------------------------------------------------------


def test_a_market_sell_fills_at_the_best_bid_and_pays_the_taker_fee(sdk: Exchange, wallet) -> None:
    filled = _status(sdk.order("SOL", False, 2, 99.5, IOC))["filled"]
    assert filled["totalSz"] == "2.0" and filled["avgPx"] == "99.995"
    fill = sdk.info.user_fills(wallet.address)[0]
    assert (fill["side"], fill["dir"], fill["crossed"]) == ("A", "Open Short", True)
    # 2 x 99.995 x 0.045% = 0.089996 (six decimals, like USDC)
    assert fill["fee"] == "0.089996" and fill["feeToken"] == "USDC"


def test_a_large_order_walks_the_book_and_pays_slippage(sdk: Exchange, wallet) -> None:
    filled = _status(sdk.order("SOL", False, 1000, 99, IOC))["filled"]
    assert filled["totalSz"] == "1000.0"
    assert Decimal(filled["avgPx"]) < Decimal("99.995")
    fills = sdk.info.user_fills(wallet.address)
    assert len(fills) > 1 and len({f["px"] for f in fills}) == len(fills)
    assert sum(Decimal(f["sz"]) for f in fills) == 1000


def test_an_injected_partial_fill_fills_part_and_cancels_the_rest_of_an_ioc(
    hl: Served, sdk: Exchange, wallet
) -> None:
    hl.http.post(
        "/admin/faults",
        json=[
            {
                "kind": "partial_fill",
                "match": "exchange:order",
                "count": 1,
                "params": {"fraction": "0.4"},
            }
        ],
    ).raise_for_status()
    cloid = Cloid(make_cloid("partial"))
    filled = _status(sdk.order("SOL", False, 10, 99.5, IOC, cloid=cloid))["filled"]
    assert filled["totalSz"] == "4.0"
    status = sdk.info.query_order_by_cloid(wallet.address, cloid)["order"]
    assert (status["status"], status["order"]["sz"], status["order"]["origSz"]) == (
        "canceled",
        "6.0",
        "10.0",
    )


def test_a_resting_order_fills_as_maker_when_the_price_crosses_it(
    hl: Served, market, clock, sdk: Exchange, wallet
) -> None:
    resting = _status(sdk.order("SOL", True, 2, 95, GTC))["resting"]
    assert sdk.info.open_orders(wallet.address)[0]["oid"] == resting["oid"]
    # The price dips through 95 and recovers between two requests.
    market.set_price(clock.now() + timedelta(minutes=5), Decimal(94))
    market.set_price(clock.now() + timedelta(minutes=10), Decimal(100))
    clock.advance(timedelta(minutes=15))
    assert sdk.info.open_orders(wallet.address) == []
    fill = sdk.info.user_fills(wallet.address)[0]
    assert (fill["px"], fill["crossed"], fill["dir"]) == ("95.0", False, "Open Long")
    assert fill["fee"] == "0.0285"  # 2 x 95 x 0.015% maker
    assert (
        sdk.info.query_order_by_oid(wallet.address, resting["oid"])["order"]["status"] == "filled"
    )


def test_the_same_cloid_sent_twice_at_once_fills_once(hl: Served, wallet: Any) -> None:
    cloid = Cloid(make_cloid("concurrent"))
    sdks = [Exchange(wallet, hl.base_url) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda s: s.order("SOL", False, 1, 99.5, IOC, cloid=cloid), sdks))
    # The SDK's wall-clock nonces can collide in the same millisecond ("Invalid nonce"); the
    # venue refuses the second cloid otherwise. Either way: one fill.
    filled = [a for a in answers if a["status"] == "ok" and "filled" in _status(a)]
    assert len(filled) == 1
    state = sdks[0].info.user_state(wallet.address)
    assert state["assetPositions"][0]["position"]["szi"] == "-1.0"


# ---- leverage and margin --------------------------------------------------------------------


def test_leverage_is_an_integer_up_to_the_assets_maximum(sdk: Exchange) -> None:
    assert sdk.update_leverage(21, "SOL")["status"] == "err"
    assert sdk.update_leverage(0, "SOL")["status"] == "err"
    assert sdk.update_leverage(20, "SOL") == {"status": "ok", "response": {"type": "default"}}


def test_isolated_margin_is_locked_per_position_and_can_be_topped_up(sdk: Exchange, wallet) -> None:
    assert sdk.update_leverage(5, "SOL", is_cross=False)["status"] == "ok"
    _status(sdk.order("SOL", False, 10, 99.5, IOC))
    before = sdk.info.user_state(wallet.address)["assetPositions"][0]["position"]
    assert before["leverage"]["type"] == "isolated" and before["leverage"]["value"] == 5
    assert sdk.update_isolated_margin(100, "SOL")["status"] == "ok"
    after = sdk.info.user_state(wallet.address)["assetPositions"][0]["position"]
    assert Decimal(after["marginUsed"]) == Decimal(before["marginUsed"]) + 100
    # More margin behind a short pushes its liquidation price up.
    assert Decimal(after["liquidationPx"]) > Decimal(before["liquidationPx"])
    assert sdk.update_leverage(5, "SOL", is_cross=True)["status"] == "err"  # not with a position


def test_price_spike_between_requests_liquidates_a_short(
    hl: Served, market, clock, sdk: Exchange, wallet
) -> None:
    sdk.update_leverage(10, "SOL")
    poor = Account.create()
    hl.fund(poor.address, 200)
    ex = Exchange(poor, hl.base_url)
    ex.update_leverage(10, "SOL")
    _status(ex.order("SOL", False, 15, 99.5, IOC))  # 1,500 short on 200
    liq = Decimal(
        ex.info.user_state(poor.address)["assetPositions"][0]["position"]["liquidationPx"]
    )
    assert 100 < liq < 115
    market.set_price(clock.now() + timedelta(minutes=1), liq + 2)
    market.set_price(clock.now() + timedelta(minutes=2), Decimal(100))
    clock.advance(timedelta(minutes=3))
    state = ex.info.user_state(poor.address)
    assert state["assetPositions"] == []
    last = ex.info.user_fills(poor.address)[0]
    assert last["dir"] == "Close Short" and "liquidation" in last
    assert Decimal(last["px"]) == pytest.approx(liq, abs=Decimal("0.01"))
    # What is left is the maintenance margin at that price (2.5% of the notional) less the
    # fee, give or take the liquidation price's rounding onto the tick.
    px, fee = Decimal(last["px"]), Decimal(last["fee"])
    left = Decimal(state["marginSummary"]["accountValue"])
    assert left == pytest.approx(15 * px * Decimal("0.025") - fee, abs=Decimal("0.1"))
    assert hl.http.get("/admin/health").json()["liquidations"] == 1


def test_a_short_grown_after_a_spike_it_survived_is_liquidated_by_the_same_spike_again(
    hl: Served, market, clock
) -> None:
    # The emulator skips the liquidation walk for prices every account already survived; an
    # account that changed since must be checked again at those same prices.
    poor = Account.create()
    hl.fund(poor.address, 200)
    ex = Exchange(poor, hl.base_url)
    ex.update_leverage(10, "SOL")
    _status(ex.order("SOL", False, 5, 99.5, IOC))

    def spike_to_112() -> list[Any]:
        market.set_price(clock.now() + timedelta(minutes=1), Decimal(112))
        market.set_price(clock.now() + timedelta(minutes=2), Decimal(100))
        clock.advance(timedelta(minutes=3))
        positions: list[Any] = ex.info.user_state(poor.address)["assetPositions"]
        return positions

    assert spike_to_112()[0]["position"]["szi"] == "-5.0"  # liquidation near 136: survives
    _status(ex.order("SOL", False, 12, 99.5, IOC))
    liq = Decimal(
        ex.info.user_state(poor.address)["assetPositions"][0]["position"]["liquidationPx"]
    )
    assert 100 < liq < 112
    assert spike_to_112() == []
    assert hl.http.get("/admin/health").json()["liquidations"] == 1


def test_a_dip_between_requests_liquidates_a_long(hl: Served, market, clock) -> None:
    poor = Account.create()
    hl.fund(poor.address, 200)
    ex = Exchange(poor, hl.base_url)
    ex.update_leverage(10, "SOL")
    _status(ex.order("SOL", True, 15, 100.5, IOC))
    liq = Decimal(
        ex.info.user_state(poor.address)["assetPositions"][0]["position"]["liquidationPx"]
    )
    assert 85 < liq < 100
    market.set_price(clock.now() + timedelta(minutes=1), liq - 2)
    market.set_price(clock.now() + timedelta(minutes=2), Decimal(100))
    clock.advance(timedelta(minutes=3))
    assert ex.info.user_state(poor.address)["assetPositions"] == []
    assert ex.info.user_fills(poor.address)[0]["dir"] == "Close Long"


def test_an_account_with_two_shorts_is_liquidated_by_a_spike(hl: Served, market, clock) -> None:
    poor = Account.create()
    hl.fund(poor.address, 200)
    ex = Exchange(poor, hl.base_url)
    for coin in ("SOL", "BTC"):
        ex.update_leverage(10, coin)
    _status(ex.order("SOL", False, 12, 99.5, IOC))
    btc = Decimal(ex.info.all_mids()["BTC"])
    _status(ex.order("BTC", False, 0.002, float(btc * Decimal("0.99")), IOC))
    assert len(ex.info.user_state(poor.address)["assetPositions"]) == 2
    market.set_price(clock.now() + timedelta(minutes=1), Decimal(115))
    market.set_price(clock.now() + timedelta(minutes=2), Decimal(100))
    clock.advance(timedelta(minutes=3))
    assert ex.info.user_state(poor.address)["assetPositions"] == []


# ---- accounts, agents, dead-man switch ------------------------------------------------------


def test_an_approved_api_wallet_trades_for_its_master(hl: Served, sdk: Exchange, wallet) -> None:
    response, agent_key = sdk.approve_agent()
    assert response == {"status": "ok", "response": {"type": "default"}}
    agent = Account.from_key(agent_key)
    as_agent = Exchange(agent, hl.base_url, account_address=wallet.address)
    _status(as_agent.order("SOL", False, 1, 99.5, IOC))
    master_state = sdk.info.user_state(wallet.address)
    assert master_state["assetPositions"][0]["position"]["szi"] == "-1.0"
    assert sdk.info.user_state(agent.address)["assetPositions"] == []
    assert sdk.info.user_role(agent.address) == {
        "role": "agent",
        "data": {"user": wallet.address.lower()},
    }
    # An agent may not move funds.
    assert as_agent.usd_class_transfer(1, to_perp=False)["status"] == "err"


def test_usd_class_transfer_moves_usdc_between_spot_and_perp(sdk: Exchange, wallet) -> None:
    assert sdk.usd_class_transfer(250, to_perp=False)["status"] == "ok"
    assert sdk.info.spot_user_state(wallet.address)["balances"][0]["total"] == "250.0"
    assert sdk.info.user_state(wallet.address)["withdrawable"] == "9750.0"
    assert sdk.usd_class_transfer(10_000, to_perp=True)["status"] == "err"


def test_the_dead_man_switch_cancels_open_orders_when_it_fires(hl: Served, sdk, wallet) -> None:
    _status(sdk.order("SOL", True, 1, 90, GTC))
    too_soon = int(time.time() * 1000) + 1_000
    assert sdk.schedule_cancel(too_soon)["status"] == "err"
    fire_at = int(time.time() * 1000) + 5_200
    assert sdk.schedule_cancel(fire_at)["status"] == "ok"
    assert len(sdk.info.open_orders(wallet.address)) == 1
    hl.emulator.wall_ms = lambda: fire_at + 1  # wall clock reaches the deadline
    assert sdk.info.open_orders(wallet.address) == []
    history = sdk.info.historical_orders(wallet.address)
    assert history[0]["status"] == "scheduledCancel"


def test_state_survives_a_restart_from_its_state_file(market, clock, tmp_path) -> None:
    from tests.venues.hyperliquid.conftest import serve

    path = tmp_path / "hl.json"
    account = Account.create()
    with_state = serve(market, clock, state_file=path)
    served = next(with_state)
    served.fund(account.address, 1_000)
    ex = Exchange(account, served.base_url)
    _status(ex.order("SOL", False, 3, 99.5, IOC, cloid=Cloid(make_cloid("persist"))))
    with pytest.raises(StopIteration):
        next(with_state)

    again = serve(market, clock, state_file=path)
    served = next(again)
    try:
        ex = Exchange(account, served.base_url)
        state = ex.info.user_state(account.address)
        assert state["assetPositions"][0]["position"]["szi"] == "-3.0"
        found = ex.info.query_order_by_cloid(account.address, Cloid(make_cloid("persist")))
        assert found["order"]["status"] == "filled"
    finally:
        with pytest.raises(StopIteration):
            next(again)


def test_faults_are_listed_and_cleared_through_the_admin_api(hl: Served, sdk: Exchange) -> None:
    rule = {"kind": "http_error", "status": 502, "match": "info:allMids"}
    listed = hl.http.post("/admin/faults", json=[rule]).json()["rules"]
    assert listed[0]["rule"]["status"] == 502
    with pytest.raises(Exception, match="502"):
        sdk.info.all_mids()
    assert hl.http.delete("/admin/faults").json() == {"rules": []}
    assert sdk.info.all_mids()["SOL"] == "100.0"


def test_a_mainnet_emulator_accepts_mainnet_signatures_only(market, clock) -> None:
    from tests.venues.hyperliquid.conftest import serve
    from venues.emulators.hyperliquid import EmulatorConfig

    account = Account.create()
    for served in serve(market, clock, config=EmulatorConfig(chain="Mainnet")):
        served.fund(account.address, 1_000)
        testnet_signed = Exchange(account, served.base_url)  # signs "b" for any other URL
        assert testnet_signed.update_leverage(3, "SOL")["status"] == "err"
        mainnet_signed = Exchange(account, served.base_url)
        mainnet_signed.base_url = MAINNET_API_URL  # sign as mainnet ...
        mainnet_signed.session.post = _redirect(mainnet_signed.session.post, served.base_url)
        assert mainnet_signed.update_leverage(3, "SOL")["status"] == "ok"


def _redirect(post: Any, base: str) -> Any:
    """... but send to the emulator."""

    def send(url: str, **kwargs: Any) -> Any:
        return post(url.replace(MAINNET_API_URL, base), **kwargs)

    return send
