"""Venue lot and tick rules: sizes are rounded down onto them, never up."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from pydantic import BaseModel, ConfigDict, Field

from models.domain import Asset
from strategy.units import quantum


def _default_token_decimals() -> dict[Asset, int]:
    return {Asset.SOL: 9, Asset.JITOSOL: 9, Asset.JUPSOL: 9, Asset.INF: 9}


class LotRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    hl_sz_decimals: int = Field(default=2, ge=0, le=8)
    """Hyperliquid SOL perp size decimals (``szDecimals`` in ``meta``)."""
    hl_min_notional_usd: Decimal = Decimal(10)
    hl_max_leverage: int = Field(default=20, ge=1)
    token_decimals: dict[Asset, int] = Field(default_factory=_default_token_decimals)
    """Mint decimals of each collateral token (Asgard amounts are native units)."""

    @property
    def hl_lot(self) -> Decimal:
        return quantum(self.hl_sz_decimals)

    def token_quantum(self, asset: Asset) -> Decimal:
        return quantum(self.token_decimals[asset])


DEFAULT_LOTS = LotRules()


def round_down(value: Decimal, step: Decimal) -> Decimal:
    return value.quantize(step, rounding=ROUND_DOWN)


def round_nearest(value: Decimal, step: Decimal) -> Decimal:
    return value.quantize(step, rounding=ROUND_HALF_EVEN)


def hl_price_decimals(price: Decimal, sz_decimals: int) -> int:
    """Decimals a Hyperliquid perp price may carry: at most 5 significant figures and at
    most ``6 - szDecimals`` decimals (integers are always valid)."""
    if price <= 0:
        raise ValueError("price must be positive")
    exponent = price.adjusted()  # 10^exponent <= price < 10^(exponent+1)
    by_figures = max(0, 4 - exponent)
    return min(by_figures, 6 - sz_decimals)


def round_hl_price(price: Decimal, sz_decimals: int, *, up: bool | None = None) -> Decimal:
    """The nearest valid price (``up=True``/``False`` to round towards higher/lower)."""
    decimals = hl_price_decimals(price, sz_decimals)
    rounding = ROUND_HALF_EVEN if up is None else ROUND_CEILING if up else ROUND_FLOOR
    out = price.quantize(quantum(decimals), rounding=rounding)
    if out.is_zero():
        raise ValueError(f"price {price} rounds to zero")
    # Rounding can carry into a new digit (99999.5 -> 100000): re-check the figures.
    if hl_price_decimals(out, sz_decimals) < decimals:
        out = out.quantize(quantum(hl_price_decimals(out, sz_decimals)), rounding=rounding)
    return out


def is_valid_hl_price(price: Decimal, sz_decimals: int) -> bool:
    if price <= 0:
        return False
    if price == price.to_integral_value():
        return True
    exponent = price.normalize().as_tuple().exponent
    if not isinstance(exponent, int):  # NaN or infinity
        return False
    return -exponent <= hl_price_decimals(price, sz_decimals)
