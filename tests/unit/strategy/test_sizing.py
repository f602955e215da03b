"""Equal-leverage sizing: limits are never exceeded and the legs differ by less than a lot."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.domain import Asset
from strategy import (
    DEFAULT_LOTS,
    Denied,
    DenyReason,
    LegSizes,
    SizeCap,
    SizingRequest,
    hedge_size,
    size_position,
)
from tests.unit.strategy.builders import PARAMS

D = Decimal


def req(**kw: object) -> SizingRequest:
    base: dict[str, object] = {
        "asset": Asset.SOL,
        "capital_usd": D(10000),
        "leverage": D(3),
        "sol_price": D(150),
        "perp_price": D("150.1"),
        "asset_price_sol": D(1),
        "asgard_available_usd": D(1_000_000),
        "hyperliquid_available_usd": D(1_000_000),
    }
    base.update(kw)
    return SizingRequest.model_validate(base)


def test_ten_thousand_at_3x_is_two_margins_of_five_thousand() -> None:
    s = size_position(req(), PARAMS)
    assert isinstance(s, LegSizes)
    assert s.margin_per_leg_usd == D(5000)
    assert s.target_notional_usd == D(15000)
    assert s.short_size == D("99.93")  # 15000 / 150.1, down to 0.01 SOL
    assert s.long_deposit == D("33.310000000")
    assert s.long_size == D("99.930000000")
    assert s.hyperliquid_leverage == 3
    assert s.capped_by == ()


def test_lst_deposit_is_sized_in_tokens_to_match_the_short_in_sol() -> None:
    s = size_position(req(asset=Asset.JITOSOL, asset_price_sol=D("1.2")), PARAMS)
    assert isinstance(s, LegSizes)
    assert s.long_size * D("1.2") <= s.short_size
    assert s.short_size - s.long_size * D("1.2") < DEFAULT_LOTS.hl_lot


def test_fractional_leverage_sets_the_venue_leverage_above_it() -> None:
    s = size_position(req(leverage=D("2.5")), PARAMS)
    assert isinstance(s, LegSizes) and s.hyperliquid_leverage == 3


def test_the_deployment_fraction_caps_the_margin_at_95_percent_of_the_smaller_balance() -> None:
    s = size_position(req(hyperliquid_available_usd=D(4000)), PARAMS)
    assert isinstance(s, LegSizes)
    assert s.margin_per_leg_usd == D(3800)
    assert s.capped_by == (SizeCap.BALANCE,)


def test_max_position_and_exposure_cap_the_leg_notional() -> None:
    s = size_position(req(capital_usd=D(1_000_000)), PARAMS)
    assert isinstance(s, LegSizes) and s.target_notional_usd == D(500000)
    assert SizeCap.MAX_POSITION in s.capped_by
    s = size_position(req(open_exposure_usd=D(1_990_000)), PARAMS)
    assert isinstance(s, LegSizes) and s.target_notional_usd == D(10000)
    assert s.capped_by == (SizeCap.EXPOSURE,)


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"capital_usd": D(60)}, DenyReason.SIZE_BELOW_MIN),  # 90 of notional < 100
        ({"open_exposure_usd": D(2_000_000)}, DenyReason.EXPOSURE_LIMIT),
        ({"asgard_available_usd": D(10)}, DenyReason.INSUFFICIENT_BALANCE),
        ({"leverage": D(5)}, DenyReason.LEVERAGE_OUT_OF_RANGE),
        ({"leverage": D("1.05")}, DenyReason.LEVERAGE_OUT_OF_RANGE),
    ],
)
def test_refusals(kw: dict[str, object], reason: DenyReason) -> None:
    out = size_position(req(**kw), PARAMS)
    assert isinstance(out, Denied) and out.reason is reason


def test_the_minimum_position_is_inclusive() -> None:
    # notional exactly 100 at 2x: margin 50, capital 100; the short rounds down below it
    out = size_position(
        req(capital_usd=D(100), leverage=D(2), perp_price=D(100), sol_price=D(100)), PARAMS
    )
    assert isinstance(out, LegSizes) and out.short_notional_usd == D(100)


def test_hedge_size_is_the_nearest_lot() -> None:
    assert hedge_size(D("10.004999"), D(1)) == D("10.00")
    assert hedge_size(D("10.006"), D(1)) == D("10.01")
    assert hedge_size(D(10), D("1.2")) == D("12.00")


@settings(max_examples=300, deadline=None)
@given(
    asset=st.sampled_from(list(Asset)),
    capital=st.decimals(min_value=D(50), max_value=D(5_000_000), places=2),
    leverage=st.decimals(min_value=D("1.1"), max_value=D(4), places=2),
    sol=st.decimals(min_value=D(5), max_value=D(1000), places=4),
    premium=st.decimals(min_value=D("-0.01"), max_value=D("0.01"), places=5),
    ratio=st.decimals(min_value=D("1"), max_value=D("1.5"), places=6),
    asgard=st.decimals(min_value=D(0), max_value=D(3_000_000), places=2),
    hl=st.decimals(min_value=D(0), max_value=D(3_000_000), places=2),
    exposure=st.decimals(min_value=D(0), max_value=D(2_100_000), places=2),
)
def test_sizing_never_exceeds_a_limit_and_the_legs_differ_by_less_than_one_lot(
    asset: Asset,
    capital: Decimal,
    leverage: Decimal,
    sol: Decimal,
    premium: Decimal,
    ratio: Decimal,
    asgard: Decimal,
    hl: Decimal,
    exposure: Decimal,
) -> None:
    r = req(
        asset=asset,
        capital_usd=capital,
        leverage=leverage,
        sol_price=sol,
        perp_price=sol * (1 + premium),
        asset_price_sol=D(1) if asset is Asset.SOL else ratio,
        asgard_available_usd=asgard,
        hyperliquid_available_usd=hl,
        open_exposure_usd=exposure,
    )
    out = size_position(r, PARAMS)
    if isinstance(out, Denied):
        return
    limits = PARAMS.positions
    deployable = min(asgard, hl) * limits.max_deployment_fraction
    assert out.margin_per_leg_usd <= capital / 2
    assert out.margin_per_leg_usd <= deployable
    for notional in (out.short_notional_usd, out.long_notional_usd):
        assert notional <= out.target_notional_usd <= limits.max_position_usd
        assert exposure + out.target_notional_usd <= limits.max_total_exposure_usd
    assert out.short_notional_usd >= limits.min_position_usd
    assert out.short_notional_usd >= DEFAULT_LOTS.hl_min_notional_usd
    # both legs on their venues' lots
    assert out.short_size == out.short_size.quantize(DEFAULT_LOTS.hl_lot)
    tq = DEFAULT_LOTS.token_quantum(asset)
    assert out.long_deposit == out.long_deposit.quantize(tq)
    assert out.long_size == out.long_size.quantize(tq)
    # the long's SOL exposure never exceeds the short and is within one lot of it
    long_sol = out.long_size * r.asset_price_sol
    assert 0 <= out.short_size - long_sol < DEFAULT_LOTS.hl_lot
