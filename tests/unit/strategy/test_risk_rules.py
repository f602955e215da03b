"""Every risk threshold at, just above and just below its boundary."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from strategy import (
    AssetQuote,
    LegLevel,
    SignalCode,
    SignalLevel,
    asgard_health,
    check_lst_peg,
    health_level,
    long_liquidation_price,
    margin_fraction,
    margin_level,
    short_liquidation_price,
)
from strategy.risk import health_near_liquidation, margin_near_liquidation, since, sustained
from tests.unit.strategy.builders import NOW, PARAMS

D = Decimal
EPS = D("0.0000001")


@pytest.mark.parametrize(
    ("boundary", "at_level", "above_level"),
    [
        ("0.20", LegLevel.REBALANCE, LegLevel.OK),  # min
        ("0.10", LegLevel.EMERGENCY, LegLevel.REBALANCE),  # emergency
        ("0.05", LegLevel.CRITICAL, LegLevel.EMERGENCY),  # critical
    ],
)
def test_health_factor_levels(boundary: str, at_level: LegLevel, above_level: LegLevel) -> None:
    b = D(boundary)
    assert health_level(b, PARAMS) is at_level
    assert health_level(b - EPS, PARAMS) is at_level
    assert health_level(b + EPS, PARAMS) is above_level


@pytest.mark.parametrize(
    ("boundary", "at_level", "above_level"),
    [
        ("0.20", LegLevel.REBALANCE, LegLevel.OK),
        ("0.10", LegLevel.EMERGENCY, LegLevel.REBALANCE),
        ("0.05", LegLevel.CRITICAL, LegLevel.EMERGENCY),
    ],
)
def test_margin_fraction_levels(boundary: str, at_level: LegLevel, above_level: LegLevel) -> None:
    b = D(boundary)
    assert margin_level(b, PARAMS) is at_level
    assert margin_level(b - EPS, PARAMS) is at_level
    assert margin_level(b + EPS, PARAMS) is above_level


def test_near_liquidation_is_within_twenty_percent_of_the_urgent_exit_level() -> None:
    assert health_near_liquidation(D("0.12"), PARAMS)  # 0.10 x 1.2
    assert health_near_liquidation(D("0.12") - EPS, PARAMS)
    assert not health_near_liquidation(D("0.12") + EPS, PARAMS)
    assert margin_near_liquidation(D("0.12"), PARAMS)
    assert not margin_near_liquidation(D("0.12") + EPS, PARAMS)


def test_sustained_is_inclusive_of_the_configured_seconds() -> None:
    secs = PARAMS.liquidation_proximity.sustained_seconds
    start = NOW - timedelta(seconds=secs)
    assert sustained(start, NOW, secs)
    assert not sustained(start + timedelta(microseconds=1), NOW, secs)
    assert not sustained(None, NOW, secs)


def test_since_keeps_the_first_time_and_clears_when_the_condition_ends() -> None:
    t0 = NOW - timedelta(seconds=5)
    assert since(None, True, NOW) == NOW
    assert since(t0, True, NOW) == t0
    assert since(t0, False, NOW) is None
    assert since(NOW + timedelta(seconds=1), True, NOW) == NOW  # a start in the future is reset


def test_venue_health_model() -> None:
    # 3x with LT 0.9: D = 2/3 of the collateral value
    assert asgard_health(D(3), D(100), D(200), D("0.9")) == D(1) - D(200) / D(270)
    assert asgard_health(D(1), D(100), D(0), D("0.9")) == 1
    assert long_liquidation_price(D(3), D(1), D(200), D("0.9")) == D(200) / D("2.7")


def test_short_liquidation_price_leaves_exactly_the_maintenance_margin() -> None:
    equity, size, mark, mm = D(5000), D(100), D(150), D("0.025")
    p = short_liquidation_price(equity, size, mark, mm)
    assert abs(equity + size * (mark - p) - mm * size * p) < D("1e-20")
    assert margin_fraction(equity, size, mark) == D(5000) / D(15000)


def peg(market: str) -> AssetQuote:
    return AssetQuote(exchange_rate=D(1), market_price_sol=D(market))


@pytest.mark.parametrize(
    ("market", "code", "level"),
    [
        ("1.0299999", None, None),
        ("1.03", SignalCode.LST_PREMIUM, SignalLevel.WARNING),
        ("1.0499999", SignalCode.LST_PREMIUM, SignalLevel.WARNING),
        ("1.05", SignalCode.LST_PREMIUM, SignalLevel.CRITICAL),
        ("0.9900001", None, None),
        ("0.99", SignalCode.LST_DISCOUNT, SignalLevel.WARNING),
        ("0.9800001", SignalCode.LST_DISCOUNT, SignalLevel.WARNING),
        ("0.98", SignalCode.LST_DISCOUNT, SignalLevel.CRITICAL),
    ],
)
def test_lst_peg_levels(market: str, code: object, level: object) -> None:
    c = check_lst_peg(peg(market), PARAMS)
    assert (c.code, c.level) == (code, level)
