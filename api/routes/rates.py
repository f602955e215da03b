"""Market rates: net carry of the basis trade per asset and lending protocol at a leverage,
and Hyperliquid funding. Read-only; a venue that does not answer is a 503 naming it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from api.auth import CurrentUser
from api.deps import SettingsDep
from api.errors import ApiError
from api.schemas import Money
from api.venues import VenueUnavailable
from models.domain import Asset
from strategy.carry import rank_opportunities

router = APIRouter(prefix="/rates", tags=["rates"])


class HyperliquidFundingPublic(BaseModel):
    """Hourly rates; positive means the short is paid. APYs are the rate x 8,760."""

    latest_rate: Money | None
    latest_apy: Money | None
    latest_time: datetime | None
    predicted_rate: Money | None
    predicted_apy: Money | None
    mean_rate: Money
    mean_apy: Money
    volatility: Money
    hours: int


class OpportunityPublic(BaseModel):
    asset: Asset
    protocol: str
    net_apy: Money
    gross_apy: Money
    funding_apy: Money
    staking_apy: Money
    lending_apy: Money
    borrow_apy: Money
    cost_apy: Money
    entry_health: Money
    eligible: bool
    refusal: str | None


class RatesPublic(BaseModel):
    as_of: datetime
    leverage: Money
    sol_price: Money
    hyperliquid: HyperliquidFundingPublic
    opportunities: list[OpportunityPublic]
    """Best first: eligible pairs by net APY, then the rest with the reason they are not."""


@router.get("", response_model=RatesPublic)
async def get_rates(
    user: CurrentUser,
    request: Request,
    settings: SettingsDep,
    leverage: Annotated[Decimal | None, Query(gt=1, le=20, decimal_places=2)] = None,
    capital_usd: Annotated[Decimal | None, Query(gt=0, le=100_000_000, decimal_places=2)] = None,
) -> RatesPublic:
    """Net carry (APY on capital, after amortised round-trip costs) for every asset and
    lending protocol at ``leverage`` (default: the global default, 3), with ``capital_usd``
    the fixed costs and borrow capacity count too."""
    risk = settings.risk
    lev = leverage if leverage is not None else risk.leverage.default
    if not risk.leverage.min <= lev <= risk.leverage.max:
        raise ApiError(
            "VAL-0005", f"leverage: must be between {risk.leverage.min} and {risk.leverage.max}"
        )
    try:
        snap = await request.app.state.venues.market()
    except VenueUnavailable as exc:
        raise ApiError(exc.code, f"market data unavailable: {exc}") from exc
    if snap.outages:
        down = VenueUnavailable(sorted(snap.outages)[0], "did not answer")
        raise ApiError(down.code, f"market data unavailable: {down.venue} {down}")
    f = snap.funding
    ranked = rank_opportunities(snap, lev, risk, capital_usd=capital_usd)
    return RatesPublic(
        as_of=snap.at,
        leverage=lev,
        sol_price=snap.sol_price,
        hyperliquid=HyperliquidFundingPublic(
            latest_rate=f.current,
            latest_apy=f.current_apy,
            latest_time=f.latest_time,
            predicted_rate=f.predicted,
            predicted_apy=f.predicted_apy,
            mean_rate=f.mean,
            mean_apy=f.mean_apy,
            volatility=f.volatility,
            hours=f.hours,
        ),
        opportunities=[
            OpportunityPublic(
                asset=o.asset,
                protocol=o.protocol.protocol.label,
                net_apy=o.carry.net_apy,
                gross_apy=o.carry.gross_apy,
                funding_apy=o.carry.funding_apy,
                staking_apy=o.carry.staking_apy,
                lending_apy=o.carry.lending_apy,
                borrow_apy=o.carry.borrow_apy,
                cost_apy=o.carry.cost_apy,
                entry_health=o.entry_health,
                eligible=o.eligible,
                refusal=o.refusal.value if o.refusal else None,
            )
            for o in ranked
        ],
    )
