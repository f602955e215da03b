"""Venue lot and tick rules; fill slippage and delta drift at and around their limits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models.domain import OrderSide
from strategy import (
    FillPurpose,
    SignalLevel,
    check_drift,
    is_valid_hl_price,
    round_hl_price,
    slippage_bps,
    validate_fill,
)
from tests.unit.strategy.builders import PARAMS

D = Decimal


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        ("150.123", "150.12"),  # 5 significant figures
        ("12345.6", "12346"),
        ("0.0123456", "0.0123"),  # at most 6 - szDecimals = 4 decimals
        ("99999.7", "100000"),  # integers are always valid
    ],
)
def test_hyperliquid_prices_round_to_five_figures_and_four_decimals(
    price: str, expected: str
) -> None:
    out = round_hl_price(D(price), 2)
    assert out == D(expected)
    assert is_valid_hl_price(out, 2)


def test_price_rounding_directions() -> None:
    assert round_hl_price(D("150.121"), 2, up=True) == D("150.13")
    assert round_hl_price(D("150.129"), 2, up=False) == D("150.12")
    assert not is_valid_hl_price(D("150.123"), 2)
    assert not is_valid_hl_price(D(0), 2)


@pytest.mark.parametrize(
    ("side", "fill", "bps"),
    [(OrderSide.BUY, "100.5", "50"), (OrderSide.SELL, "99.5", "50"), (OrderSide.BUY, "99", "-100")],
)
def test_slippage_is_positive_against_us(side: OrderSide, fill: str, bps: str) -> None:
    assert slippage_bps(D(100), D(fill), side) == D(bps)


@pytest.mark.parametrize(
    ("purpose", "fill", "ok"),
    [
        (FillPurpose.ENTRY, "100.50", True),  # 50 bps: at the entry limit
        (FillPurpose.ENTRY, "100.51", False),  # 51 bps
        (FillPurpose.ENTRY, "100.49", True),
        (FillPurpose.EXIT, "101.00", True),  # 100 bps: at the exit limit
        (FillPurpose.EXIT, "101.01", False),
        (FillPurpose.EXIT, "100.99", True),
    ],
)
def test_fill_slippage_limits_at_and_around_the_boundary(
    purpose: FillPurpose, fill: str, ok: bool
) -> None:
    check = validate_fill(D(100), D(fill), OrderSide.BUY, purpose, PARAMS)
    assert check.ok is ok
    assert check.limit_bps == (50 if purpose is FillPurpose.ENTRY else 100)


@pytest.mark.parametrize(
    ("long_sol", "level"),
    [
        ("100.4999", None),
        ("100.5", SignalLevel.WARNING),  # 0.5% of the short
        ("99.5", SignalLevel.WARNING),
        ("101.9999", SignalLevel.WARNING),
        ("102", SignalLevel.CRITICAL),  # 2%
        ("98", SignalLevel.CRITICAL),
    ],
)
def test_delta_drift_levels_at_and_around_their_thresholds(long_sol: str, level: object) -> None:
    assert check_drift(D(long_sol), D(100), PARAMS).level is level


def test_a_long_without_its_short_is_critical_drift() -> None:
    assert check_drift(D(1), D(0), PARAMS).critical
    assert check_drift(D(0), D(0), PARAMS).level is None
