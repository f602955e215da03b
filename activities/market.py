"""One view of the market for every decision in a cycle.

``MarketObserver`` reads Hyperliquid (SOL-PERP context, settled and predicted funding) and
Asgard (prices, per-protocol terms, LST figures) and builds the strategy's ``MarketSnapshot``.
It keeps the funding window incrementally (only new settlements are fetched) and serves one
snapshot to every caller within a short time-to-live, so a cycle makes one market fetch, not
one per position. A venue that does not answer becomes an outage in the snapshot; the strategy
then refuses entries rather than trading on half a picture.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from basis.clock import Clock, utc_now
from models.domain import Asset, Protocol, Venue
from models.risk import RiskParams
from strategy.consensus import PriceQuote, price_consensus
from strategy.funding import FundingWindow
from strategy.market import SOL_QUOTE, AssetQuote, MarketSnapshot, ProtocolTerms
from venues.asgard.client import AsgardClient
from venues.asgard.models import AssetMarket
from venues.hyperliquid.errors import HyperliquidError
from venues.hyperliquid.types import AssetContext
from venues.hyperliquid.venue import HyperliquidVenue

log = logging.getLogger(__name__)

COIN = "SOL"
# Used only when Asgard does not report a protocol's liquidation threshold: conservative.
_FALLBACK_LTV = Decimal("0.80")


class MarketUnavailable(Exception):
    """Neither venue answered: there is no market to decide on."""

    retryable = True


class MarketObserver:
    def __init__(
        self,
        hyperliquid: HyperliquidVenue,
        asgard: AsgardClient,
        risk: RiskParams,
        *,
        clock: Clock = utc_now,
        ttl_seconds: float = 5.0,
    ) -> None:
        self._hl = hyperliquid
        self._asgard = asgard
        self._risk = risk
        self._clock = clock
        self._ttl = ttl_seconds
        self._window = FundingWindow(risk.funding.lookback_hours)
        self._last_settlement: datetime | None = None
        self._cached: tuple[float, MarketSnapshot] | None = None
        self._lock = asyncio.Lock()

    async def snapshot(self, *, fresh: bool = False) -> MarketSnapshot:
        async with self._lock:
            if not fresh and self._cached is not None:
                taken, snap = self._cached
                if time.monotonic() - taken < self._ttl:
                    return snap
            snap = await self._observe()
            self._cached = (time.monotonic(), snap)
            return snap

    async def _observe(self) -> MarketSnapshot:
        now = self._clock()
        hl, asg = await asyncio.gather(
            self._read_hyperliquid(now), self._read_asgard(), return_exceptions=True
        )
        outages: set[Venue] = set()
        if isinstance(hl, BaseException):
            log.warning("hyperliquid market read failed: %s", hl)
            outages.add(Venue.HYPERLIQUID)
        if isinstance(asg, BaseException):
            log.warning("asgard market read failed: %s", asg)
            outages.add(Venue.ASGARD)
        if len(outages) == 2:
            raise MarketUnavailable("neither Hyperliquid nor Asgard answered")
        ctx = hl if isinstance(hl, AssetContext) else None
        markets = asg if isinstance(asg, dict) else {}

        quotes: dict[str, PriceQuote | None] = {
            "hyperliquid_oracle": PriceQuote(
                source="hyperliquid_oracle", price=ctx.oracle_px, at=now
            )
            if ctx
            else None,
            "asgard": _asgard_sol_quote(markets, now),
        }
        consensus = price_consensus(quotes, now, self._risk)
        sol = consensus.price or (ctx.oracle_px if ctx else None) or _price(markets, Asset.SOL)
        if sol is None or sol <= 0:
            raise MarketUnavailable("no SOL price from any venue")
        predicted = await self._predicted() if ctx else None
        return MarketSnapshot(
            at=now,
            sol_price=sol,
            perp_mark=ctx.mark_px if ctx else sol,
            funding=self._window.stats(now, predicted),
            assets=_asset_quotes(markets, sol),
            protocols=_protocol_terms(markets),
            outages=frozenset(outages),
            price_refusal=consensus.refusal,
        )

    async def _read_hyperliquid(self, now: datetime) -> AssetContext:
        ctx = (await self._hl.asset_contexts())[COIN]
        start = self._last_settlement or now - timedelta(hours=self._risk.funding.lookback_hours)
        for point in await self._hl.funding_history(COIN, start + timedelta(milliseconds=1)):
            if self._last_settlement is None or point.time > self._last_settlement:
                self._window.add(point.time, point.rate)
                self._last_settlement = point.time
        return ctx

    async def _predicted(self) -> Decimal | None:
        try:
            p = await self._hl.predicted_funding(COIN)
        except HyperliquidError:
            return None  # a forecast is advisory: its absence must not block the snapshot
        return p.rate if p else None

    async def _read_asgard(self) -> dict[Asset, AssetMarket]:
        return await self._asgard.markets()


def _price(markets: dict[Asset, AssetMarket], asset: Asset) -> Decimal | None:
    m = markets.get(asset)
    return m.price_usd if m else None


def _asgard_sol_quote(markets: dict[Asset, AssetMarket], now: datetime) -> PriceQuote | None:
    price = _price(markets, Asset.SOL)
    return PriceQuote(source="asgard", price=price, at=now) if price else None


def _asset_quotes(markets: dict[Asset, AssetMarket], sol: Decimal) -> dict[Asset, AssetQuote]:
    quotes: dict[Asset, AssetQuote] = {Asset.SOL: SOL_QUOTE}
    for asset, m in markets.items():
        if asset is Asset.SOL or m.price_usd is None or m.price_usd <= 0:
            continue
        in_sol = m.price_usd / sol
        quotes[asset] = AssetQuote(
            # Without a stake-pool rate the peg cannot be judged: the market price stands in,
            # which reads as "on peg" (documented: live deployments need the pool's rate).
            exchange_rate=m.exchange_rate_sol or in_sol,
            market_price_sol=in_sol,
            staking_apy=m.staking_apy or Decimal(0),
        )
    return quotes


@dataclass
class _Terms:
    lend: dict[Asset, Decimal] = field(default_factory=dict)
    borrow: Decimal = Decimal(0)
    active: bool = False
    max_leverage: Decimal = Decimal(1)
    ltv: Decimal | None = None
    capacity: Decimal | None = None


def _protocol_terms(markets: dict[Asset, AssetMarket]) -> tuple[ProtocolTerms, ...]:
    grouped: dict[Protocol, _Terms] = {}
    for asset, m in markets.items():
        for src in m.sources:
            t = grouped.setdefault(src.protocol, _Terms())
            t.lend[asset] = src.lend_apy
            t.active = t.active or src.active
            if asset is Asset.SOL or t.ltv is None:
                # The USDC borrow terms are the protocol's; its SOL market states them best.
                t.borrow, t.capacity = src.borrow_apy, src.capacity_usd
                t.max_leverage, t.ltv = src.max_leverage, src.liquidation_ltv or t.ltv
    return tuple(
        ProtocolTerms(
            protocol=protocol,
            active=t.active,
            lend_apy=t.lend,
            borrow_apy=t.borrow,
            max_leverage=t.max_leverage,
            liquidation_ltv=t.ltv or _FALLBACK_LTV,
            borrow_capacity_usd=t.capacity,
        )
        for protocol, t in sorted(grouped.items())
    )
