"""Asgard's health factor, normalised to a fraction.

Asgard reports ``healthFactor`` as how far the market may fall before the position becomes
liquidatable: ``1 - D / (q * P * LT)`` for debt D, collateral q at price P and liquidation
LTV LT. Its documentation shows it as a percentage (40.94 = a 40.94% drop); that is
unconfirmed, so the unit is configurable:

- ``percent``: divide by 100.
- ``fraction``: use as is.
- ``auto``: a value above 1 can only be a percentage. At or below 1 both readings are
  possible, and they disagree exactly where it matters (0.5 is either "half-way to
  liquidation" or "0.5% from it"). Then the reading closer to ``expected`` - the health the
  caller computed from the position's own balances - wins; with no ``expected``, the
  smaller (percentage) reading wins, because over-stating health can cost the position and
  under-stating it costs at most an early de-risk.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

_HUNDRED = Decimal(100)


class HealthUnit(StrEnum):
    PERCENT = "percent"
    FRACTION = "fraction"
    AUTO = "auto"


def normalise_health_factor(
    raw: Decimal, unit: HealthUnit = HealthUnit.AUTO, *, expected: Decimal | None = None
) -> Decimal:
    """``raw`` as a fraction (0.4094 = the price may fall 40.94% before liquidation)."""
    if unit is HealthUnit.PERCENT:
        return raw / _HUNDRED
    if unit is HealthUnit.FRACTION:
        return raw
    if raw > 1:
        return raw / _HUNDRED
    as_percent, as_fraction = raw / _HUNDRED, raw
    if expected is None:
        return as_percent
    if abs(as_fraction - expected) < abs(as_percent - expected):
        return as_fraction
    return as_percent


def health_from_balances(
    collateral_usd: Decimal, debt_usd: Decimal, liquidation_ltv: Decimal
) -> Decimal:
    """The health factor (fraction) a position's balances imply; 1 with no debt."""
    if debt_usd <= 0:
        return Decimal(1)
    if collateral_usd <= 0 or liquidation_ltv <= 0:
        return Decimal(0)
    return 1 - debt_usd / (collateral_usd * liquidation_ltv)
