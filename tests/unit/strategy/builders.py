"""Small builders for strategy tests: a calm market snapshot, funding statistics, a position."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from models.domain import Asset, Protocol, Venue
from models.risk import RiskParams
from strategy import (
    AssetQuote,
    FundingStats,
    MarketSnapshot,
    PositionObservation,
    ProtocolTerms,
    funding_stats,
)

D = Decimal
NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)
PARAMS = RiskParams()


def stats(
    rates: list[str] | None = None,
    *,
    predicted: str | None = None,
    as_of: datetime = NOW,
    lookback: int = 168,
) -> FundingStats:
    """Hourly settlements ending at ``as_of`` (the last one settled at ``as_of``)."""
    rs = rates if rates is not None else ["0.00002"] * 48
    n = len(rs)
    points = [(as_of - timedelta(hours=n - 1 - i), D(r)) for i, r in enumerate(rs)]
    return funding_stats(
        points,
        as_of,
        lookback_hours=lookback,
        predicted=None if predicted is None else D(predicted),
    )


def terms(
    protocol: Protocol = Protocol.MARGINFI,
    *,
    borrow: str = "0.09",
    ltv: str = "0.90",
    lend_sol: str = "0.05",
    lend_lst: str = "0.004",
    active: bool = True,
    max_leverage: str = "4",
    capacity: str | None = None,
) -> ProtocolTerms:
    return ProtocolTerms(
        protocol=protocol,
        active=active,
        lend_apy={a: D(lend_sol if a is Asset.SOL else lend_lst) for a in Asset},
        borrow_apy=D(borrow),
        max_leverage=D(max_leverage),
        liquidation_ltv=D(ltv),
        borrow_capacity_usd=None if capacity is None else D(capacity),
    )


def quotes(jito_market: str = "1.2") -> dict[Asset, AssetQuote]:
    return {
        Asset.SOL: AssetQuote(exchange_rate=D(1), market_price_sol=D(1), staking_apy=D(0)),
        Asset.JITOSOL: AssetQuote(
            exchange_rate=D("1.2"), market_price_sol=D(jito_market), staking_apy=D("0.07")
        ),
    }


def snapshot(
    *,
    funding: FundingStats | None = None,
    sol: str = "150",
    perp: str | None = None,
    protocols: tuple[ProtocolTerms, ...] | None = None,
    assets: dict[Asset, AssetQuote] | None = None,
    outages: frozenset[Venue] = frozenset(),
    at: datetime = NOW,
) -> MarketSnapshot:
    return MarketSnapshot(
        at=at,
        sol_price=D(sol),
        perp_mark=D(perp if perp is not None else sol),
        funding=funding if funding is not None else stats(as_of=at),
        assets=assets if assets is not None else quotes(),
        protocols=protocols if protocols is not None else (terms(),),
        outages=outages,
    )


def position(
    *,
    leverage: str = "3",
    capital: str = "10000",
    price: str = "150",
    ltv: str = "0.90",
    asset: Asset = Asset.SOL,
    asset_price_sol: str = "1",
) -> PositionObservation:
    """A fresh equal-leverage position opened at ``price`` (no costs)."""
    lev, cap, p, m = D(leverage), D(capital), D(price), D(asset_price_sol)
    margin = cap / 2
    notional = lev * margin
    s = notional / p
    q = s / m
    del ltv
    return PositionObservation(
        asset=asset,
        protocol=Protocol.MARGINFI,
        leverage=lev,
        collateral_tokens=q,
        debt_usd=notional - margin,
        short_size=s,
        short_equity_usd=margin,
    )
