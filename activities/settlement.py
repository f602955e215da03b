"""Settlement of a closed position: realised PnL by source, from the venues' own records.

Funding comes from Hyperliquid's funding ledger for the account over the position's life.
Several positions of one user share one SOL-PERP position on Hyperliquid, so each hourly
payment is shared in proportion to this position's short in the account's total short that
hour (``size`` of the payment). The short's trades and fees come from the recorded fills; the
long's figures from what Asgard reported at the open and just before the close.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from activities.errors import venue_call
from activities.market import COIN, MarketObserver
from basis.clock import Clock, utc_now
from models.domain import LegSide, OrderSide, Venue
from models.messages import CloseSettlement, LongClose, PnlSplit
from models.tables import Fill, FundingPayment, Leg, Position
from strategy.realised import RealisedLeg, RealisedShort, realised_pnl
from venues.hyperliquid.types import FundingPayment as HlFunding
from venues.hyperliquid.venue import HyperliquidVenue
from wallets.provider import WalletProvider


def _dec(details: dict[str, object], key: str, default: Decimal = Decimal(0)) -> Decimal:
    raw = details.get(key)
    return Decimal(str(raw)) if raw is not None else default


class SettlementActivities:
    def __init__(
        self,
        *,
        hyperliquid: HyperliquidVenue,
        market: MarketObserver,
        wallets: WalletProvider,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock = utc_now,
    ) -> None:
        self._hl = hyperliquid
        self._market = market
        self._wallets = wallets
        self._sessions = sessions
        self._clock = clock

    @activity.defn(name="settle_close")
    async def settle_close(
        self, position_id: uuid.UUID, user_id: uuid.UUID, closed: LongClose
    ) -> CloseSettlement:
        async with self._sessions() as s:
            position = await s.get(Position, position_id)
            if position is None:
                raise LookupError(f"position {position_id} does not exist")
            legs = {
                LegSide(leg.side): leg
                for leg in (await s.exec(select(Leg).where(Leg.position_id == position_id))).all()
            }
            fills = (await s.exec(select(Fill).where(Fill.position_id == position_id))).all()
        short_fills = [f for f in fills if f.venue == Venue.HYPERLIQUID]
        sold = [f for f in short_fills if f.side == OrderSide.SELL]
        bought = [f for f in short_fills if f.side == OrderSide.BUY]
        short_size = sum((f.size for f in sold), Decimal(0))
        opened = position.opened_at or position.created_at
        async with venue_call():
            funding = await self._funding(user_id, position_id, short_size, opened)
            snap = await self._market.snapshot()
        short = RealisedShort(
            sold_usd=sum((f.price * f.size for f in sold), Decimal(0)),
            bought_usd=sum((f.price * f.size for f in bought), Decimal(0)),
            fees_usd=sum((f.fee_usd for f in short_fills), Decimal(0)),
            funding_usd=funding,
        )
        details = legs[LegSide.LONG].venue_details if LegSide.LONG in legs else {}
        close = closed.fill.details if closed.fill is not None else {}
        exit_price = (
            closed.fill.avg_price
            if closed.fill is not None
            else snap.asset_price_usd(position.asset)
        )
        long = RealisedLeg(
            collateral_usd=_dec(details, "collateral_usd"),
            tokens_open=_dec(details, "tokens"),
            # A long that was already gone (liquidated) returns nothing: counted as such.
            tokens_close=close.get("tokens", Decimal(0)),
            debt_open=_dec(details, "debt"),
            debt_close=close.get("debt", Decimal(0)),
            exit_price_usd=exit_price,
            rate_open=_dec(details, "rate_sol", Decimal(1)),
            rate_close=close.get("rate_sol", _dec(details, "rate_sol", Decimal(1))),
            sol_price_close=close.get("sol_price", snap.sol_price),
        )
        split = realised_pnl(long, short)
        return CloseSettlement(
            exit_price=exit_price,
            pnl=PnlSplit(**split.model_dump()),
        )

    async def _funding(
        self, user_id: uuid.UUID, position_id: uuid.UUID, short_size: Decimal, since: datetime
    ) -> Decimal:
        """This position's share of the account's funding since it opened; each payment is
        also recorded (once) against the position's short leg."""
        if short_size <= 0:
            return Decimal(0)
        address = (await self._wallets.addresses(user_id)).evm_address
        payments = [
            p for p in await self._hl.user_funding(address, since) if p.coin == COIN and p.size
        ]
        total = Decimal(0)
        rows = []
        for p in payments:
            share = min(Decimal(1), short_size / abs(p.size))
            amount = p.usdc * share
            total += amount
            rows.append((p, amount))
        await self._record(position_id, rows, short_size)
        return total

    async def _record(
        self,
        position_id: uuid.UUID,
        rows: list[tuple[HlFunding, Decimal]],
        short_size: Decimal,
    ) -> None:
        async with self._sessions() as s, s.begin():
            leg = (
                await s.exec(
                    select(Leg).where(Leg.position_id == position_id, Leg.side == LegSide.SHORT)
                )
            ).first()
            if leg is None:
                return
            known = {
                r.occurred_at
                for r in (
                    await s.exec(select(FundingPayment).where(FundingPayment.leg_id == leg.id))
                ).all()
            }
            for p, amount in rows:
                at = p.time
                if at in known:
                    continue
                s.add(
                    FundingPayment(
                        position_id=position_id,
                        leg_id=leg.id,
                        amount_usd=amount,
                        rate=p.rate,
                        size=short_size,
                        occurred_at=at,
                    )
                )
