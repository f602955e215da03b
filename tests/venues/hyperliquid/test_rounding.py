"""Price and size rules (5 significant figures, at most 6 - szDecimals decimals, integer
prices always valid, sizes on the lot, $10 minimum), as properties."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import pytest
from hyperliquid.utils.signing import float_to_wire
from hypothesis import given
from hypothesis import strategies as st

from venues.emulators.hyperliquid.numbers import to_tick, valid_price, valid_size
from venues.hyperliquid.rounding import (
    is_valid_price,
    meets_min_notional,
    round_price,
    round_size,
    slippage_price,
    to_wire,
)

prices = st.decimals(
    min_value=Decimal("0.000001"), max_value=Decimal("5000000"), places=9, allow_nan=False
).filter(lambda d: d > 0)
sz_decimals = st.integers(min_value=0, max_value=5)


@given(prices, sz_decimals)
def test_a_rounded_price_is_always_valid_for_the_venue(px, szd) -> None:
    out = round_price(px, szd)
    assert is_valid_price(out, szd)
    # The emulator implements the same rule independently: they must agree.
    assert valid_price(out, szd)


@given(prices, sz_decimals)
def test_floor_and_ceiling_bracket_the_price(px, szd) -> None:
    lo, hi = round_price(px, szd, ROUND_FLOOR), round_price(px, szd, ROUND_CEILING)
    assert lo <= hi
    if lo != round_price(Decimal("1").scaleb(-(6 - szd)), szd):  # not clamped at the minimum
        assert lo <= px
    assert hi >= px


@given(prices, sz_decimals)
def test_rounding_a_valid_price_leaves_it_unchanged(px, szd) -> None:
    once = round_price(px, szd)
    assert round_price(once, szd) == once


@given(prices, sz_decimals)
def test_rounding_moves_a_price_by_less_than_one_part_in_ten_thousand(px, szd) -> None:
    out = round_price(px, szd)
    # 5 significant figures; tiny prices are bounded by the decimals rule instead.
    step = max(px * Decimal("0.0001"), Decimal(1).scaleb(-(6 - szd)))
    assert abs(out - px) <= step


@given(prices, sz_decimals)
def test_client_and_emulator_agree_on_validity(px, szd) -> None:
    assert is_valid_price(px, szd) == valid_price(px, szd)
    assert is_valid_price(to_tick(px, szd), szd)


@given(prices, sz_decimals)
def test_a_rounded_price_goes_on_the_wire_as_the_sdk_writes_it(px, szd) -> None:
    out = round_price(px, szd)
    assert to_wire(out) == float_to_wire(float(out))


@given(st.decimals(min_value=0, max_value=Decimal("1e7"), places=8, allow_nan=False), sz_decimals)
def test_sizes_round_down_onto_the_lot(sz, szd) -> None:
    out = round_size(sz, szd)
    assert out <= sz
    assert sz - out < Decimal(1).scaleb(-szd)
    if out > 0:
        assert valid_size(out, szd)


@pytest.mark.parametrize(
    ("px", "szd", "valid"),
    [
        (Decimal("123456"), 2, True),  # integer: valid whatever its significant figures
        (Decimal("1234.5"), 2, True),
        (Decimal("1234.56"), 2, False),  # six significant figures
        (Decimal("0.001234"), 0, True),
        (Decimal("0.0012345"), 0, False),  # seven decimals for szDecimals 0
        (Decimal("0.01234"), 4, False),  # at most two decimals for szDecimals 4
        (Decimal("145.23"), 2, True),
    ],
)
def test_price_rule_examples(px, szd, valid) -> None:
    assert is_valid_price(px, szd) is valid


def test_market_order_limit_never_exceeds_the_allowed_slippage() -> None:
    mid = Decimal("145.237")
    buy = slippage_price(mid, is_buy=True, slippage_bps=Decimal(50), sz_decimals=2)
    sell = slippage_price(mid, is_buy=False, slippage_bps=Decimal(50), sz_decimals=2)
    assert buy == Decimal("145.96") and buy <= mid * Decimal("1.005")
    assert sell == Decimal("144.52") and sell >= mid * Decimal("0.995")


def test_minimum_notional_is_ten_dollars() -> None:
    assert meets_min_notional(Decimal("0.1"), Decimal(100))
    assert not meets_min_notional(Decimal("0.09"), Decimal(100))


def test_wire_refuses_a_number_it_would_have_to_round() -> None:
    assert to_wire(Decimal("1.50000000")) == "1.5"
    assert to_wire(Decimal("0")) == "0"
    with pytest.raises(ValueError, match="decimals"):
        to_wire(Decimal("0.000000001"))
