"""Balances, the funding preflight on new intents, rates, and a user's own settings."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from models.domain import Venue
from strategy.carry import rank_opportunities
from tests.api.conftest import TradingEnv

V1 = "/api/v1"


def _intent(**kw: Any) -> dict[str, Any]:
    return {"asset": "jitoSOL", "capital_usd": "10000", "min_net_apy": "0.9", **kw}


async def _wallets(env: TradingEnv, user: dict[str, str]) -> dict[str, str]:
    return dict((await env.api.get(f"{V1}/auth/me", headers=user)).json()["wallets"])


# ---- balances ---------------------------------------------------------------------------------


async def test_balances_show_each_venue_and_the_capital_they_can_fund(trading: TradingEnv) -> None:
    user = await trading.user()
    w = await _wallets(trading, user)
    trading.venues.per_address = {w["solana"]: Decimal("30000"), w["evm"]: Decimal("20000")}
    body = (await trading.api.get(f"{V1}/balances", headers=user)).json()
    assert body["solana"] == {
        "chain": "solana",
        "venue": "asgard",
        "address": w["solana"],
        "sol": "5",
        "usdc": "30000",
        "error": None,
    }
    assert body["hyperliquid"]["address"] == w["evm"]
    assert body["hyperliquid"]["withdrawable_usd"] == "20000"
    assert body["max_capital_usd"] == "38000"  # 2 x min(30000, 20000) x 0.95

    trading.venues.down = {Venue.HYPERLIQUID}
    partial = (await trading.api.get(f"{V1}/balances", headers=user)).json()
    assert partial["solana"]["usdc"] == "30000"
    assert partial["hyperliquid"]["withdrawable_usd"] is None
    assert partial["hyperliquid"]["error"].startswith("HLQ-0002")
    assert partial["max_capital_usd"] is None


async def test_the_funding_check_names_each_shortfall(trading: TradingEnv) -> None:
    user = await trading.user()
    w = await _wallets(trading, user)
    trading.venues.per_address = {w["solana"]: Decimal("1000")}
    trading.venues.sol = Decimal("0.001")
    r = await trading.api.post(f"{V1}/balances/check", json={"capital_usd": "5000"}, headers=user)
    body = r.json()
    assert r.status_code == 200
    assert body["ok"] is False
    assert body["required_per_venue_usd"] == "2631.58"  # 2500 / 0.95
    assert {(s["venue"], s["asset"]) for s in body["shortfalls"]} == {
        ("asgard", "USDC"),
        ("asgard", "SOL"),
    }
    trading.venues.sol = Decimal(1)
    ok = await trading.api.post(f"{V1}/balances/check", json={"capital_usd": "1800"}, headers=user)
    assert ok.json()["ok"] is True
    trading.venues.down = {Venue.ASGARD}
    down = await trading.api.post(
        f"{V1}/balances/check", json={"capital_usd": "1800"}, headers=user
    )
    assert down.status_code == 503
    assert down.json()["error"]["code"] == "ASG-0002"


async def test_an_intent_the_venues_cannot_fund_is_refused_and_not_stored(
    trading: TradingEnv,
) -> None:
    user = await trading.user()
    w = await _wallets(trading, user)
    trading.venues.per_address = {w["evm"]: Decimal("4000")}
    r = await trading.api.post(f"{V1}/intents", json=_intent(), headers=user)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "WAL-0001"
    assert err["message"].startswith("capital_usd:")
    assert err["details"]["max_capital_usd"] == "7600"
    assert err["details"]["shortfalls"][0]["venue"] == "hyperliquid"
    r = await trading.api.post(f"{V1}/positions/open", json=_intent(), headers=user)
    assert r.json()["error"]["code"] == "WAL-0001"
    assert (await trading.api.get(f"{V1}/intents", headers=user)).json() == []

    fits = await trading.api.post(
        f"{V1}/intents",
        json=_intent(capital_usd="7600"),
        headers={**user, "Idempotency-Key": "fits-000001"},
    )
    assert fits.status_code == 201
    # The same request again answers the same intent, even though its capital is now
    # committed: a retry is not a new order.
    trading.venues.per_address = {w["evm"]: Decimal("1")}
    again = await trading.api.post(
        f"{V1}/intents",
        json=_intent(capital_usd="7600"),
        headers={**user, "Idempotency-Key": "fits-000001"},
    )
    assert again.status_code == 200
    assert again.json()["id"] == fits.json()["id"]


async def test_an_intent_is_refused_while_a_venue_balance_cannot_be_read(
    trading: TradingEnv,
) -> None:
    user = await trading.user()
    trading.venues.down = {Venue.HYPERLIQUID}
    r = await trading.api.post(f"{V1}/intents", json=_intent(), headers=user)
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "HLQ-0002"
    assert (await trading.api.get(f"{V1}/intents", headers=user)).json() == []


# ---- rates ------------------------------------------------------------------------------------


async def test_rates_rank_net_carry_per_asset_and_protocol_with_hyperliquid_funding(
    trading: TradingEnv,
) -> None:
    user = await trading.user()
    r = await trading.api.get(f"{V1}/rates", params={"leverage": "2.5"}, headers=user)
    assert r.status_code == 200, r.text
    body = r.json()
    expected = rank_opportunities(
        trading.venues.market_snapshot, Decimal("2.5"), trading.settings.risk
    )
    got = [(o["asset"], o["protocol"], Decimal(o["net_apy"])) for o in body["opportunities"]]
    assert got == [(o.asset.value, o.protocol.protocol.label, o.carry.net_apy) for o in expected]
    assert body["leverage"] == "2.5"
    funding = trading.venues.market_snapshot.funding
    assert Decimal(body["hyperliquid"]["latest_rate"]) == funding.current
    assert Decimal(body["hyperliquid"]["mean_apy"]) == funding.mean_apy
    assert all(isinstance(o["net_apy"], str) for o in body["opportunities"])


async def test_rates_refuse_a_leverage_outside_the_limits_and_answer_503_when_a_venue_is_down(
    trading: TradingEnv,
) -> None:
    user = await trading.user()
    r = await trading.api.get(f"{V1}/rates", params={"leverage": "5"}, headers=user)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "VAL-0005")
    r = await trading.api.get(f"{V1}/rates", params={"leverage": "three"}, headers=user)
    assert r.json()["error"]["details"]["errors"][0]["field"] == "leverage"
    trading.venues.down = {Venue.HYPERLIQUID}
    r = await trading.api.get(f"{V1}/rates", headers=user)
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "HLQ-0002"
    trading.venues.down = {Venue.HYPERLIQUID, Venue.ASGARD}
    r = await trading.api.get(f"{V1}/rates", headers=user)
    assert (r.status_code, r.json()["error"]["code"]) == (503, "GEN-0003")


# ---- settings ---------------------------------------------------------------------------------


async def test_settings_save_only_tighter_limits_and_reset_to_the_global_ones(
    trading: TradingEnv,
) -> None:
    user = await trading.user()
    first = (await trading.api.get(f"{V1}/settings", headers=user)).json()
    assert first["version"] == 0
    assert first["limits"]["leverage_max"] == "4"
    assert all(v is None for v in first["settings"].values())
    saved = await trading.api.put(
        f"{V1}/settings",
        json={"max_leverage": "2.5", "default_leverage": "2", "allowed_assets": ["SOL"]},
        headers=user,
    )
    assert saved.status_code == 200
    assert saved.json()["version"] == 1
    assert saved.json()["settings"]["max_leverage"] == "2.5"
    for loosen, field in (
        ({"max_leverage": "5"}, "max_leverage"),
        ({"max_capital_usd": "900000"}, "max_capital_usd"),
        ({"min_net_apy": "0.01"}, "min_net_apy"),
        ({"max_funding_volatility": "0.9"}, "max_funding_volatility"),
        ({"default_leverage": "3", "max_leverage": "2"}, "default_leverage"),
    ):
        r = await trading.api.put(f"{V1}/settings", json=loosen, headers=user)
        assert r.status_code == 422, loosen
        assert r.json()["error"]["code"] == "VAL-0003"
        assert r.json()["error"]["message"].startswith(f"{field}:")
    unknown = await trading.api.put(f"{V1}/settings", json={"leverage_max": "2"}, headers=user)
    assert unknown.status_code == 422
    still = (await trading.api.get(f"{V1}/settings", headers=user)).json()
    assert (still["version"], still["settings"]["max_leverage"]) == (1, "2.5")
    reset = (await trading.api.post(f"{V1}/settings/reset", headers=user)).json()
    assert reset["version"] == 0
    assert reset["settings"]["max_leverage"] is None


async def test_a_users_settings_shape_and_limit_their_intents(trading: TradingEnv) -> None:
    user = await trading.user()
    await trading.api.put(
        f"{V1}/settings",
        json={
            "default_leverage": "2",
            "max_leverage": "2.5",
            "allowed_assets": ["SOL", "jitoSOL"],
            "max_capital_usd": "20000",
            "max_total_exposure_usd": "50000",
            "min_net_apy": "0.2",
        },
        headers=user,
    )
    r = await trading.api.post(
        f"{V1}/intents", json={"asset": "SOL", "capital_usd": "5000"}, headers=user
    )
    assert r.status_code == 201, r.text
    assert r.json()["leverage"] == "2"
    assert r.json()["min_net_apy"] == "0.2"
    for body, code in (
        (_intent(leverage="3"), "VAL-0005"),
        (_intent(asset="INF"), "RSK-0001"),
        (_intent(capital_usd="25000"), "RSK-0002"),
        # 5000 x 2 already committed; 18000 x 2.5 more would pass 50000
        (_intent(capital_usd="18000", leverage="2.5"), "RSK-0003"),
    ):
        refused = await trading.api.post(f"{V1}/intents", json=body, headers=user)
        assert refused.json()["error"]["code"] == code, (body, refused.text)
    listed = (await trading.api.get(f"{V1}/intents", headers=user)).json()
    assert len(listed) == 1
    await asyncio.sleep(0)
