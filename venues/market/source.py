"""The market-source seam. Both venue emulators (and the backtester) read the market only
through ``MarketSource``; implementations: a seeded random walk (``random_walk``) and the
scenario simulator.

Units: prices in USD; ``funding_rate`` is Hyperliquid's **hourly** rate (positive = longs pay
shorts); every APY is a decimal fraction per year (0.05 = 5%); LST exchange rates are SOL per
LST token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol as TypingProtocol

from models.domain import Asset, Protocol, Venue

USDC = "USDC"
"""Token key for the debt side in ``ProtocolMarket`` rate maps; collateral keys are
``Asset`` values ("SOL", "jitoSOL", ...)."""


@dataclass(frozen=True, slots=True)
class ProtocolMarket:
    """One Asgard lending protocol's terms for every token it lists."""

    protocol: Protocol
    active: bool
    lend_apy: Mapping[str, Decimal]
    borrow_apy: Mapping[str, Decimal]
    max_leverage: Decimal
    liquidation_ltv: Decimal
    """Loan-to-value at which a position becomes liquidatable (e.g. 0.85)."""
    borrow_capacity_usd: Decimal
    """USDC still available to borrow."""


@dataclass(frozen=True, slots=True)
class MarketState:
    at: datetime
    sol_price: Decimal
    """SOL/USD oracle (spot) price."""
    perp_mark: Decimal
    """Hyperliquid SOL-PERP mark price."""
    funding_rate: Decimal
    """Hyperliquid hourly funding rate in force for the hour containing ``at``."""
    premium: Decimal
    lst_exchange_rate: Mapping[Asset, Decimal]
    """Fair value in SOL of one LST (stake-pool rate). SOL maps to 1."""
    lst_market_price_sol: Mapping[Asset, Decimal]
    """Traded price in SOL of one LST; differs from the exchange rate in a (de)peg."""
    staking_apy: Mapping[Asset, Decimal]
    protocols: tuple[ProtocolMarket, ...]
    outages: frozenset[Venue] = field(default_factory=frozenset)
    """Venues the scenario has taken down at ``at``."""

    def asset_price_usd(self, asset: Asset) -> Decimal:
        """USD price of one unit of ``asset`` as its market trades it."""
        return self.sol_price * self.lst_market_price_sol.get(asset, Decimal(1))

    def protocol(self, protocol: Protocol) -> ProtocolMarket | None:
        return next((p for p in self.protocols if p.protocol == protocol), None)


@dataclass(frozen=True, slots=True)
class FundingPoint:
    """A settled hourly funding: the rate paid for the hour that *ended* at ``time``."""

    time: datetime
    rate: Decimal
    premium: Decimal


class MarketSource(TypingProtocol):
    """Deterministic given its construction (scenario, seed): the same ``at`` always gives
    the same state, so two emulators in different processes agree."""

    def state_at(self, at: datetime) -> MarketState: ...

    def funding_history(self, start: datetime, end: datetime) -> list[FundingPoint]:
        """Settled hourly fundings with ``start <= time < end``, oldest first."""
        ...

    def price_range(self, start: datetime, end: datetime) -> tuple[Decimal, Decimal]:
        """Lowest and highest SOL oracle price over ``[start, end]`` (for liquidation checks
        between two observations)."""
        ...
