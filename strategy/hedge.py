"""Hedge sizing and delta drift between the two legs (pure)."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal


def round_to_lot(size: Decimal, decimals: int, *, down: bool = False) -> Decimal:
    """Round a size to a venue's lot (``decimals`` places); ``down`` never rounds up, for
    reduce-only orders that must not exceed what is held."""
    q = Decimal(1).scaleb(-decimals)
    return size.quantize(q, rounding=ROUND_DOWN if down else ROUND_HALF_EVEN)


def hedge_size(long_notional_usd: Decimal, sol_price: Decimal, sz_decimals: int = 2) -> Decimal:
    """SOL-PERP size whose notional matches the long leg's USD notional."""
    if sol_price <= 0:
        raise ValueError("SOL price must be positive")
    return round_to_lot(long_notional_usd / sol_price, sz_decimals)


def delta_drift(long_notional_usd: Decimal, short_notional_usd: Decimal) -> Decimal:
    """|long - short| / long: 0 is perfectly hedged."""
    if long_notional_usd <= 0:
        raise ValueError("long notional must be positive")
    return abs(long_notional_usd - short_notional_usd) / long_notional_usd
