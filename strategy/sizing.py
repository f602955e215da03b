"""Equal-leverage sizing: two equal margins, two matching legs on their venues' lots.

Position size is the notional of one leg (the seed's meaning): ``L x margin``. Exposure is the
sum of open positions' per-leg notionals. The short is sized first on Hyperliquid's coarse lot
(0.01 SOL), then the long's deposit on the token's own decimals so that its SOL exposure never
exceeds the short's: the two legs differ by less than one Hyperliquid lot, and neither leg's
notional exceeds the target.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from models.domain import Asset
from models.risk import RiskParams
from strategy.decisions import Denied, DenyReason
from strategy.lots import DEFAULT_LOTS, LotRules, round_down, round_nearest
from strategy.units import HALF, ZERO


class SizingRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    asset: Asset
    capital_usd: Decimal = Field(gt=0)
    """Total capital for the position: half goes to each leg's margin."""
    leverage: Decimal
    sol_price: Decimal = Field(gt=0)
    perp_price: Decimal = Field(gt=0)
    """Price the short is expected to fill at (mark or mid)."""
    asset_price_sol: Decimal = Field(gt=0)
    """Market price of one collateral token in SOL (1 for SOL)."""
    asgard_available_usd: Decimal = Field(ge=0)
    """Value available on Solana for the long's margin."""
    hyperliquid_available_usd: Decimal = Field(ge=0)
    """Withdrawable USDC on Hyperliquid for the short's margin."""
    open_exposure_usd: Decimal = Field(default=ZERO, ge=0)


class SizeCap(StrEnum):
    BALANCE = "balance"
    MAX_POSITION = "max_position"
    EXPOSURE = "exposure"


class LegSizes(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    margin_per_leg_usd: Decimal
    target_notional_usd: Decimal
    short_size: Decimal
    """SOL, on Hyperliquid's lot."""
    short_notional_usd: Decimal
    long_deposit: Decimal
    """Tokens deposited on Asgard, on the token's decimals."""
    long_size: Decimal
    """Tokens held after leverage (deposit x L, on the token's decimals)."""
    long_notional_usd: Decimal
    hyperliquid_leverage: int
    """Integer leverage to set on Hyperliquid (ceil(L)); the isolated margin is then topped up
    to ``margin_per_leg_usd`` so the effective leverage is L."""
    capped_by: tuple[SizeCap, ...] = ()


def size_position(
    req: SizingRequest, params: RiskParams, lots: LotRules = DEFAULT_LOTS
) -> LegSizes | Denied:
    lev = req.leverage
    limits = params.positions
    if not params.leverage.min <= lev <= params.leverage.max:
        return Denied(
            reason=DenyReason.LEVERAGE_OUT_OF_RANGE,
            detail=f"{lev} outside [{params.leverage.min}, {params.leverage.max}]",
        )
    caps: list[SizeCap] = []
    margin = HALF * req.capital_usd
    deployable = min(req.asgard_available_usd, req.hyperliquid_available_usd) * (
        limits.max_deployment_fraction
    )
    if margin > deployable:
        margin = deployable
        caps.append(SizeCap.BALANCE)
    notional = lev * margin
    if notional > limits.max_position_usd:
        notional = limits.max_position_usd
        caps.append(SizeCap.MAX_POSITION)
    room = limits.max_total_exposure_usd - req.open_exposure_usd
    if notional > room:
        notional = max(room, ZERO)
        caps.append(SizeCap.EXPOSURE)
    if notional < limits.min_position_usd:
        reason = (
            DenyReason.EXPOSURE_LIMIT
            if SizeCap.EXPOSURE in caps
            else DenyReason.INSUFFICIENT_BALANCE
            if SizeCap.BALANCE in caps
            else DenyReason.SIZE_BELOW_MIN
        )
        return Denied(
            reason=reason,
            detail=f"leg notional {notional:.2f} below minimum {limits.min_position_usd}",
        )
    # Sized at the higher of the two prices, so neither leg's notional exceeds the target.
    ref_price = max(req.perp_price, req.sol_price)
    short = round_down(notional / ref_price, lots.hl_lot)
    short_notional = short * req.perp_price
    if short_notional < lots.hl_min_notional_usd or short_notional < limits.min_position_usd:
        return Denied(
            reason=DenyReason.SIZE_BELOW_MIN,
            detail=f"short of {short} SOL is below the venue or position minimum",
        )
    tq = lots.token_quantum(req.asset)
    deposit = round_down(short / (lev * req.asset_price_sol), tq)
    long_size = round_down(deposit * lev, tq)
    hl_lev = int(lev.to_integral_value(rounding=ROUND_CEILING))
    if hl_lev > lots.hl_max_leverage:
        return Denied(reason=DenyReason.LEVERAGE_OUT_OF_RANGE, detail="above venue maximum")
    return LegSizes(
        margin_per_leg_usd=notional / lev,
        target_notional_usd=notional,
        short_size=short,
        short_notional_usd=short_notional,
        long_deposit=deposit,
        long_size=long_size,
        long_notional_usd=long_size * req.asset_price_sol * req.sol_price,
        hyperliquid_leverage=hl_lev,
        capped_by=tuple(caps),
    )


def hedge_size(
    long_tokens: Decimal, asset_price_sol: Decimal, lots: LotRules = DEFAULT_LOTS
) -> Decimal:
    """Short size (SOL, on the lot) matching a long's actual fill: nearest lot, so the legs
    differ by at most half a lot."""
    return round_nearest(long_tokens * asset_price_sol, lots.hl_lot)
