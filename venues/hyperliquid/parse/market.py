"""Parsers for market data: the universe, mids, book, asset contexts, funding."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field

from venues.hyperliquid.parse.base import BadResponse, Wire, ms_to_dt, validate
from venues.hyperliquid.types import (
    AssetContext,
    AssetInfo,
    BookLevel,
    Candle,
    FundingRate,
    L2Book,
    PredictedFunding,
)


class _AssetW(Wire):
    name: str
    sz_decimals: int = Field(alias="szDecimals")
    max_leverage: int = Field(alias="maxLeverage")
    only_isolated: bool = Field(default=False, alias="onlyIsolated")


class _MetaW(Wire):
    universe: list[_AssetW]


def _assets(meta: _MetaW) -> tuple[AssetInfo, ...]:
    return tuple(
        AssetInfo(i, a.name, a.sz_decimals, a.max_leverage, a.only_isolated)
        for i, a in enumerate(meta.universe)
    )


def parse_meta(raw: Any) -> tuple[AssetInfo, ...]:
    """The perp universe; an asset's index is its position in the list."""
    return _assets(validate(_MetaW, raw))


def parse_all_mids(raw: Any) -> dict[str, Decimal]:
    return validate(dict[str, Decimal], raw)


class _LevelW(Wire):
    px: Decimal
    sz: Decimal
    n: int


class _BookW(Wire):
    coin: str
    time: int
    levels: tuple[list[_LevelW], list[_LevelW]]


def parse_l2_book(raw: Any) -> L2Book:
    b = validate(_BookW, raw)
    bids, asks = (tuple(BookLevel(lv.px, lv.sz, lv.n) for lv in side) for side in b.levels)
    return L2Book(b.coin, ms_to_dt(b.time), bids, asks)


class _CtxW(Wire):
    funding: Decimal
    open_interest: Decimal = Field(alias="openInterest")
    prev_day_px: Decimal = Field(alias="prevDayPx")
    day_ntl_vlm: Decimal = Field(alias="dayNtlVlm")
    premium: Decimal | None = None
    oracle_px: Decimal = Field(alias="oraclePx")
    mark_px: Decimal = Field(alias="markPx")
    mid_px: Decimal | None = Field(default=None, alias="midPx")
    impact_pxs: list[Decimal] | None = Field(default=None, alias="impactPxs")


def parse_meta_and_asset_ctxs(raw: Any) -> tuple[tuple[AssetInfo, ...], dict[str, AssetContext]]:
    meta_raw, ctxs_raw = validate(tuple[Any, list[Any]], raw)
    assets = parse_meta(meta_raw)
    ctxs = validate(list[_CtxW], ctxs_raw)
    if len(ctxs) != len(assets):
        raise BadResponse(f"metaAndAssetCtxs: {len(assets)} assets but {len(ctxs)} contexts")
    out: dict[str, AssetContext] = {}
    for a, c in zip(assets, ctxs, strict=True):
        impact = c.impact_pxs or []
        out[a.name] = AssetContext(
            coin=a.name,
            mark_px=c.mark_px,
            oracle_px=c.oracle_px,
            mid_px=c.mid_px,
            funding_rate=c.funding,
            premium=c.premium,
            open_interest=c.open_interest,
            impact_bid=impact[0] if len(impact) == 2 else None,
            impact_ask=impact[1] if len(impact) == 2 else None,
            day_notional_volume=c.day_ntl_vlm,
            prev_day_px=c.prev_day_px,
        )
    return assets, out


class _PredW(Wire):
    funding_rate: Decimal | None = Field(default=None, alias="fundingRate")
    next_funding_time: int | None = Field(default=None, alias="nextFundingTime")
    funding_interval_hours: int | None = Field(default=None, alias="fundingIntervalHours")


def parse_predicted_fundings(raw: Any) -> list[PredictedFunding]:
    """``[[coin, [[venue, {fundingRate, nextFundingTime, ...} | null], ...]], ...]``."""
    rows = validate(list[tuple[str, list[tuple[str, _PredW | None]]]], raw)
    return [
        PredictedFunding(
            coin=coin,
            venue=venue,
            rate=p.funding_rate,
            next_funding_time=ms_to_dt(p.next_funding_time) if p.next_funding_time else None,
            interval_hours=p.funding_interval_hours,
        )
        for coin, venues in rows
        for venue, p in venues
        if p is not None
    ]


class _FundingW(Wire):
    coin: str
    funding_rate: Decimal = Field(alias="fundingRate")
    premium: Decimal | None = None
    time: int


def parse_funding_history(raw: Any) -> list[FundingRate]:
    return [
        FundingRate(r.coin, ms_to_dt(r.time), r.funding_rate, r.premium)
        for r in validate(list[_FundingW], raw)
    ]


class _CandleW(Wire):
    open_time: int = Field(alias="t")
    close_time: int = Field(alias="T")
    coin: str = Field(alias="s")
    interval: str = Field(alias="i")
    o: Decimal
    h: Decimal
    low: Decimal = Field(alias="l")
    c: Decimal
    v: Decimal
    n: int


def parse_candles(raw: Any) -> list[Candle]:
    return [
        Candle(
            c.coin,
            c.interval,
            ms_to_dt(c.open_time),
            ms_to_dt(c.close_time),
            c.o,
            c.h,
            c.low,
            c.c,
            c.v,
            c.n,
        )
        for c in validate(list[_CandleW], raw)
    ]
