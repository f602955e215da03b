"""The venue's price and size rules, in ``Decimal``.

- A perp price has at most 5 significant figures and at most ``6 - szDecimals`` decimals;
  an integer price is always valid, whatever its number of significant figures.
- A size has at most ``szDecimals`` decimals.
- An order's value (size x price) must be at least $10.
- On the wire a number is a normalised decimal string with at most 8 decimals.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

MAX_PERP_DECIMALS = 6
SIGNIFICANT_FIGURES = 5
MAX_WIRE_DECIMALS = 8
MIN_ORDER_NOTIONAL = Decimal(10)
_BPS = Decimal(10_000)


def max_price_decimals(sz_decimals: int) -> int:
    return max(MAX_PERP_DECIMALS - sz_decimals, 0)


def _decimals(x: Decimal) -> int:
    exponent = x.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite numbers only; callers check
    return max(-exponent, 0)


def _significant_figures(x: Decimal) -> int:
    return len(x.normalize().as_tuple().digits)


def is_valid_price(px: Decimal, sz_decimals: int) -> bool:
    if not px.is_finite() or px <= 0:
        return False
    if px == px.to_integral_value():
        return True
    return _significant_figures(px) <= SIGNIFICANT_FIGURES and _decimals(px) <= max_price_decimals(
        sz_decimals
    )


def round_price(px: Decimal, sz_decimals: int, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """The nearest valid price in the given rounding direction (``ROUND_FLOOR`` never rounds
    up, ``ROUND_CEILING`` never rounds down)."""
    if not px.is_finite() or px <= 0:
        raise ValueError(f"price must be positive, got {px}")
    # Quantum that keeps 5 significant figures; above 5 integer digits, integers are valid.
    magnitude = px.adjusted()  # exponent of the leading digit
    sig_exp = magnitude - (SIGNIFICANT_FIGURES - 1)
    exp = max(sig_exp, -max_price_decimals(sz_decimals))
    exp = min(exp, 0)
    out = px.quantize(Decimal(1).scaleb(exp), rounding=rounding)
    if out <= 0:
        # Rounding a tiny price down reaches zero: the smallest valid step is the answer.
        out = Decimal(1).scaleb(exp)
    if not is_valid_price(out, sz_decimals):
        # Rounding up across a power of ten (99999.5 -> 100000) adds a digit; re-round.
        return round_price(out, sz_decimals, rounding)
    return out.normalize() if out != out.to_integral_value() else out.quantize(Decimal(1))


def is_valid_size(sz: Decimal, sz_decimals: int) -> bool:
    return sz.is_finite() and sz > 0 and _decimals(sz) <= sz_decimals


def round_size(sz: Decimal, sz_decimals: int, rounding: str = ROUND_DOWN) -> Decimal:
    """Size on the asset's lot; rounds down by default so a computed size never exceeds what
    the caller sized for."""
    if not sz.is_finite() or sz < 0:
        raise ValueError(f"size must be non-negative, got {sz}")
    return sz.quantize(Decimal(1).scaleb(-sz_decimals), rounding=rounding)


def meets_min_notional(sz: Decimal, px: Decimal) -> bool:
    return sz * px >= MIN_ORDER_NOTIONAL


def slippage_price(
    mid: Decimal, *, is_buy: bool, slippage_bps: Decimal, sz_decimals: int
) -> Decimal:
    """The limit price of a "market" order: mid moved against us by ``slippage_bps``, rounded
    so the limit never exceeds the allowed slippage (down for buys, up for sells)."""
    if slippage_bps < 0:
        raise ValueError("slippage must be non-negative")
    factor = slippage_bps / _BPS
    raw = mid * (1 + factor) if is_buy else mid * (1 - factor)
    return round_price(raw, sz_decimals, ROUND_FLOOR if is_buy else ROUND_CEILING)


def to_wire(x: Decimal) -> str:
    """The venue's number format: normalised, no exponent, at most 8 decimals. A value that
    would need rounding is refused (it would sign something other than what was meant)."""
    if not x.is_finite():
        raise ValueError(f"not a finite number: {x}")
    if _decimals(x) > MAX_WIRE_DECIMALS:
        raise ValueError(f"{x} has more than {MAX_WIRE_DECIMALS} decimals")
    n = x.normalize()
    if n == 0:
        return "0"
    return f"{n:f}"
