"""What the strategy sees of the market at one instant: ``MarketSnapshot``.

A monitor cycle builds one snapshot (consensus price, funding statistics, LST quotes, lending
terms, outages) and evaluates every position and intent against it, so nothing market-wide is
recomputed per position.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from models.domain import Asset, Protocol, Venue
from strategy.decisions import DenyReason
from strategy.funding import FundingStats
from strategy.units import ONE


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AssetQuote(_Value):
    """One collateral asset against SOL. SOL itself is ``exchange_rate = market = 1``."""

    exchange_rate: Decimal = Field(gt=0)
    """Fair value in SOL of one token (the stake pool's rate)."""
    market_price_sol: Decimal = Field(gt=0)
    """What one token trades for, in SOL."""
    staking_apy: Decimal = Decimal(0)

    @property
    def peg_deviation(self) -> Decimal:
        """Market price against fair value: > 0 premium, < 0 discount."""
        return self.market_price_sol / self.exchange_rate - ONE


SOL_QUOTE = AssetQuote(exchange_rate=ONE, market_price_sol=ONE)


class ProtocolTerms(_Value):
    """One Asgard lending protocol's current terms."""

    protocol: Protocol
    active: bool = True
    lend_apy: dict[Asset, Decimal]
    """Supply APY earned by each collateral asset."""
    borrow_apy: Decimal
    """USDC borrow APY (the debt)."""
    max_leverage: Decimal = Decimal(4)
    liquidation_ltv: Decimal = Field(gt=0, le=1)
    borrow_capacity_usd: Decimal | None = None
    """USDC still available to borrow; ``None`` when unknown (not checked)."""


class MarketSnapshot(_Value):
    at: datetime
    sol_price: Decimal = Field(gt=0)
    """SOL/USD: the consensus of the price sources (see ``strategy.consensus``)."""
    perp_mark: Decimal = Field(gt=0)
    """Hyperliquid SOL-PERP mark."""
    funding: FundingStats
    assets: dict[Asset, AssetQuote]
    protocols: tuple[ProtocolTerms, ...]
    outages: frozenset[Venue] = frozenset()
    price_refusal: DenyReason | None = None
    """Set when the price sources did not agree (or one was stale or missing): the snapshot's
    prices are then not to be traded on."""

    def quote(self, asset: Asset) -> AssetQuote:
        if asset is Asset.SOL:
            return self.assets.get(asset, SOL_QUOTE)
        return self.assets[asset]

    def asset_price_usd(self, asset: Asset) -> Decimal:
        """USD price of one token as its market trades it."""
        return self.sol_price * self.quote(asset).market_price_sol

    def terms(self, protocol: Protocol) -> ProtocolTerms | None:
        for t in self.protocols:
            if t.protocol == protocol:
                return t
        return None
