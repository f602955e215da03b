"""Fill validation: slippage against the limits, and the hedge's delta drift.

Slippage is signed so that positive is always *against* us: a buy filled above the expected
price, a sell filled below it. Delta drift is the long's SOL exposure against the short's,
``|long_sol - short_sol| / short_sol``.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from models.domain import OrderSide
from models.risk import RiskParams
from strategy._construct import trusted
from strategy.decisions import SignalLevel
from strategy.units import ONE, ZERO, to_bps


class FillPurpose(StrEnum):
    ENTRY = "entry"
    EXIT = "exit"


class FillCheck(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    slippage_bps: Decimal
    limit_bps: int


class DriftCheck(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    drift: Decimal
    """Fraction of the short's size."""
    level: SignalLevel | None
    """``None``: within the warning level."""

    @property
    def critical(self) -> bool:
        return self.level is SignalLevel.CRITICAL


def slippage_bps(expected_price: Decimal, fill_price: Decimal, side: OrderSide) -> Decimal:
    """Adverse slippage in basis points (negative when the fill was better)."""
    if expected_price <= 0:
        raise ValueError("expected_price must be positive")
    move = fill_price / expected_price - ONE
    return to_bps(move if side is OrderSide.BUY else -move)


def validate_fill(
    expected_price: Decimal,
    fill_price: Decimal,
    side: OrderSide,
    purpose: FillPurpose,
    params: RiskParams,
) -> FillCheck:
    """A fill is acceptable when its adverse slippage is at most the limit (50 bps entry,
    100 bps exit with the seed values)."""
    limit = params.slippage.entry_bps if purpose is FillPurpose.ENTRY else params.slippage.exit_bps
    slip = slippage_bps(expected_price, fill_price, side)
    return FillCheck(ok=slip <= limit, slippage_bps=slip, limit_bps=limit)


def delta_drift(long_sol: Decimal, short_sol: Decimal) -> Decimal:
    """``|long - short| / short``; a missing short with a long is infinite drift (1e9)."""
    if short_sol <= 0:
        return ZERO if long_sol <= 0 else Decimal("1e9")
    return abs(long_sol - short_sol) / short_sol


def check_drift(long_sol: Decimal, short_sol: Decimal, params: RiskParams) -> DriftCheck:
    """At the warning level (0.5%) or above: warn; at the critical level (2%): act."""
    d = delta_drift(long_sol, short_sol)
    limits = params.delta_drift
    level = (
        SignalLevel.CRITICAL
        if d >= limits.critical
        else SignalLevel.WARNING
        if d >= limits.warning
        else None
    )
    return trusted(DriftCheck, drift=d, level=level)
