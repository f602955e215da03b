"""Units and conversions shared by every strategy module.

Rates are decimal fractions (0.05 = 5%). Hyperliquid funding is an **hourly** rate, positive
when longs pay shorts; its annual equivalent is the hourly rate x 8,760 (no compounding, the
way the venue and the design quote it). APYs accrue hourly at ``apy / 8760``.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

HOURS_PER_YEAR = 8760
HOURS_PER_YEAR_D = Decimal(HOURS_PER_YEAR)
SECONDS_PER_HOUR = 3600
BPS = Decimal("0.0001")
ZERO = Decimal(0)
ONE = Decimal(1)
TWO = Decimal(2)
HALF = Decimal("0.5")
CENT = Decimal("0.01")
MICRO = Decimal("0.000001")


def annualise_hourly(rate: Decimal) -> Decimal:
    """Hourly funding rate -> APY (x 8,760)."""
    return rate * HOURS_PER_YEAR_D


def hourly_from_apy(apy: Decimal) -> Decimal:
    return apy / HOURS_PER_YEAR_D


def bps(value: Decimal | int) -> Decimal:
    """Basis points -> fraction."""
    return Decimal(value) * BPS


def to_bps(fraction: Decimal) -> Decimal:
    return fraction / BPS


def floor_to(value: Decimal, quantum: Decimal) -> Decimal:
    """Round towards zero onto ``quantum`` (sizes: never exceed what was asked)."""
    return value.quantize(quantum, rounding=ROUND_DOWN)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def quantum(decimals: int) -> Decimal:
    """``Decimal('0.01')`` for 2 decimals, ``Decimal('1')`` for 0."""
    return Decimal(1).scaleb(-decimals)
