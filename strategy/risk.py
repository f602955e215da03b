"""Risk measures of each leg and the levels they fall into.

Boundaries are inclusive: a value *at* a threshold is at that level (a health factor of
exactly 0.10 is an emergency).

- Asgard health factor (fraction): ``1 - D / (q · P · LT)``, how far the collateral's price
  may fall before liquidation. Levels: ``<= min`` rebalance, ``<= emergency`` urgent exit,
  ``<= critical`` exit at any price.
- Hyperliquid margin fraction: the short's equity / notional. Levels:
  ``<= margin_fraction_rebalance`` rebalance, ``<= margin_fraction_min`` urgent exit,
  ``<= margin_fraction_critical`` exit at any price.
- Near liquidation: health ``<= emergency·(1+t)`` or margin fraction ``<= min·(1+t)``; held for
  ``sustained_seconds`` it is an urgent exit. The time it started is carried by the caller.
- LST peg: market price against the stake pool rate; a premium or a discount at or beyond its
  warning level warns (and blocks entries), at or beyond critical exits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import IntEnum

from pydantic import BaseModel, ConfigDict

from models.risk import RiskParams
from strategy._construct import trusted
from strategy.decisions import SignalCode, SignalLevel
from strategy.market import AssetQuote
from strategy.units import ONE, ZERO


class LegLevel(IntEnum):
    """Ordered: a higher level is worse."""

    OK = 0
    REBALANCE = 1
    EMERGENCY = 2
    CRITICAL = 3


def asgard_health(
    collateral_tokens: Decimal, asset_price_usd: Decimal, debt_usd: Decimal, ltv: Decimal
) -> Decimal:
    """Health factor as a fraction (0.2594 = the price may fall 25.94%). Without debt it is 1;
    with no collateral value it is 0 or below."""
    if debt_usd <= 0:
        return ONE
    value = collateral_tokens * asset_price_usd * ltv
    if value <= 0:
        return -ONE
    return ONE - debt_usd / value


def long_liquidation_price(
    collateral_tokens: Decimal, asset_price_sol: Decimal, debt_usd: Decimal, ltv: Decimal
) -> Decimal:
    """SOL/USD price at which the long's health factor reaches 0."""
    if debt_usd <= 0 or collateral_tokens <= 0:
        return ZERO
    return debt_usd / (collateral_tokens * asset_price_sol * ltv)


def margin_fraction(short_equity_usd: Decimal, short_size: Decimal, mark: Decimal) -> Decimal:
    notional = short_size * mark
    if notional <= 0:
        return ONE
    return short_equity_usd / notional


def short_liquidation_price(
    short_equity_usd: Decimal, short_size: Decimal, mark: Decimal, maintenance: Decimal
) -> Decimal:
    """Mark at which the short's equity falls to the maintenance margin:
    ``E + s·(mark - P) = mm·s·P``."""
    if short_size <= 0:
        return Decimal("Infinity")
    return (short_equity_usd + short_size * mark) / (short_size * (ONE + maintenance))


def health_level(health: Decimal, params: RiskParams) -> LegLevel:
    h = params.asgard_health
    if health <= h.critical:
        return LegLevel.CRITICAL
    if health <= h.emergency:
        return LegLevel.EMERGENCY
    if health <= h.min:
        return LegLevel.REBALANCE
    return LegLevel.OK


def margin_level(fraction: Decimal, params: RiskParams) -> LegLevel:
    m = params.hyperliquid
    if fraction <= m.margin_fraction_critical:
        return LegLevel.CRITICAL
    if fraction <= m.margin_fraction_min:
        return LegLevel.EMERGENCY
    if fraction <= m.margin_fraction_rebalance:
        return LegLevel.REBALANCE
    return LegLevel.OK


def health_near_liquidation(health: Decimal, params: RiskParams) -> bool:
    return health <= params.asgard_health.emergency * (ONE + params.liquidation_proximity.threshold)


def margin_near_liquidation(fraction: Decimal, params: RiskParams) -> bool:
    return fraction <= params.hyperliquid.margin_fraction_min * (
        ONE + params.liquidation_proximity.threshold
    )


def since(started: datetime | None, condition: bool, now: datetime) -> datetime | None:
    """Carry the start time of a condition from one evaluation to the next."""
    if not condition:
        return None
    return started if started is not None and started <= now else now


def sustained(started: datetime | None, now: datetime, seconds: int) -> bool:
    return started is not None and now - started >= timedelta(seconds=seconds)


class PegCheck(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    deviation: Decimal
    """Market / fair value - 1."""
    code: SignalCode | None
    level: SignalLevel | None


def lst_peg_level(
    quote: AssetQuote, params: RiskParams
) -> tuple[Decimal, SignalCode | None, SignalLevel | None]:
    """``(deviation, code, level)``; code and level are ``None`` inside the warning band."""
    d = quote.peg_deviation
    p = params.lst_peg
    if d >= 0:
        if d >= p.premium_critical:
            return d, SignalCode.LST_PREMIUM, SignalLevel.CRITICAL
        if d >= p.premium_warning:
            return d, SignalCode.LST_PREMIUM, SignalLevel.WARNING
    elif -d >= p.discount_critical:
        return d, SignalCode.LST_DISCOUNT, SignalLevel.CRITICAL
    elif -d >= p.discount_warning:
        return d, SignalCode.LST_DISCOUNT, SignalLevel.WARNING
    return d, None, None


def check_lst_peg(quote: AssetQuote, params: RiskParams) -> PegCheck:
    d, code, level = lst_peg_level(quote, params)
    return trusted(PegCheck, deviation=d, code=code, level=level)
