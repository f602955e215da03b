"""Parsers from the venue's ``/info`` JSON to typed results.

Wire models validate what we read and ignore the rest (the venue adds fields over time);
anything malformed raises ``BadResponse`` rather than producing a half-parsed value: corrupt
data is worse than no data. Every recorded mainnet response in
``../shared/reference/hyperliquid_info_recordings`` goes through ``PARSERS`` in the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from models.domain import OrderSide
from venues.hyperliquid.errors import TransportError
from venues.hyperliquid.types import (
    Agent,
    AssetContext,
    AssetInfo,
    BookLevel,
    Candle,
    CumulativeFunding,
    DelegatorEvent,
    Fill,
    FundingPayment,
    FundingRate,
    L2Book,
    LedgerUpdate,
    LeverageType,
    MarginSummary,
    OpenOrder,
    OrderStatus,
    PortfolioPeriod,
    Position,
    PredictedFunding,
    RateLimitStatus,
    UserRole,
    UserState,
    VaultEquity,
)

T = TypeVar("T")


class BadResponse(TransportError):
    """The venue answered with something that is not the expected shape (a proxy's error page,
    a truncated body). Retryable: it says nothing about the request."""

    code = "hyperliquid.bad_response"


def ms_to_dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def dt_to_ms(dt: datetime) -> int:
    if dt.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return int(dt.timestamp() * 1000)


def _side(s: str) -> OrderSide:
    if s == "B":
        return OrderSide.BUY
    if s == "A":
        return OrderSide.SELL
    raise BadResponse(f"unknown order side {s!r}")


class _W(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


# ---- market ---------------------------------------------------------------------------------


class _AssetW(_W):
    name: str
    sz_decimals: int = Field(alias="szDecimals")
    max_leverage: int = Field(alias="maxLeverage")
    only_isolated: bool = Field(default=False, alias="onlyIsolated")


class _MetaW(_W):
    universe: list[_AssetW]


def _assets(meta: _MetaW) -> tuple[AssetInfo, ...]:
    return tuple(
        AssetInfo(i, a.name, a.sz_decimals, a.max_leverage, a.only_isolated)
        for i, a in enumerate(meta.universe)
    )


def parse_meta(raw: Any) -> tuple[AssetInfo, ...]:
    """The perp universe; an asset's index is its position in the list."""
    return _assets(_validate(_MetaW, raw))


def parse_all_mids(raw: Any) -> dict[str, Decimal]:
    return _validate(dict[str, Decimal], raw)


class _LevelW(_W):
    px: Decimal
    sz: Decimal
    n: int


class _BookW(_W):
    coin: str
    time: int
    levels: tuple[list[_LevelW], list[_LevelW]]


def parse_l2_book(raw: Any) -> L2Book:
    b = _validate(_BookW, raw)
    bids, asks = (tuple(BookLevel(lv.px, lv.sz, lv.n) for lv in side) for side in b.levels)
    return L2Book(b.coin, ms_to_dt(b.time), bids, asks)


class _CtxW(_W):
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
    meta_raw, ctxs_raw = _validate(tuple[Any, list[Any]], raw)
    assets = parse_meta(meta_raw)
    ctxs = _validate(list[_CtxW], ctxs_raw)
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


class _PredW(_W):
    funding_rate: Decimal | None = Field(default=None, alias="fundingRate")
    next_funding_time: int | None = Field(default=None, alias="nextFundingTime")
    funding_interval_hours: int | None = Field(default=None, alias="fundingIntervalHours")


def parse_predicted_fundings(raw: Any) -> list[PredictedFunding]:
    """``[[coin, [[venue, {fundingRate, nextFundingTime, ...} | null], ...]], ...]``."""
    rows = _validate(list[tuple[str, list[tuple[str, _PredW | None]]]], raw)
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


class _FundingW(_W):
    coin: str
    funding_rate: Decimal = Field(alias="fundingRate")
    premium: Decimal | None = None
    time: int


def parse_funding_history(raw: Any) -> list[FundingRate]:
    return [
        FundingRate(r.coin, ms_to_dt(r.time), r.funding_rate, r.premium)
        for r in _validate(list[_FundingW], raw)
    ]


class _CandleW(_W):
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
        for c in _validate(list[_CandleW], raw)
    ]


# ---- account --------------------------------------------------------------------------------


class _LeverageW(_W):
    type: LeverageType
    value: int


class _CumFundingW(_W):
    all_time: Decimal = Field(alias="allTime")
    since_open: Decimal = Field(alias="sinceOpen")
    since_change: Decimal = Field(alias="sinceChange")


class _PositionW(_W):
    coin: str
    szi: Decimal
    entry_px: Decimal | None = Field(default=None, alias="entryPx")
    leverage: _LeverageW
    liquidation_px: Decimal | None = Field(default=None, alias="liquidationPx")
    margin_used: Decimal = Field(alias="marginUsed")
    position_value: Decimal = Field(alias="positionValue")
    unrealized_pnl: Decimal = Field(alias="unrealizedPnl")
    return_on_equity: Decimal = Field(alias="returnOnEquity")
    max_leverage: int | None = Field(default=None, alias="maxLeverage")
    cum_funding: _CumFundingW | None = Field(default=None, alias="cumFunding")


class _AssetPositionW(_W):
    position: _PositionW


class _MarginW(_W):
    account_value: Decimal = Field(alias="accountValue")
    total_margin_used: Decimal = Field(alias="totalMarginUsed")
    total_ntl_pos: Decimal = Field(alias="totalNtlPos")
    total_raw_usd: Decimal = Field(alias="totalRawUsd")

    def domain(self) -> MarginSummary:
        return MarginSummary(
            self.account_value, self.total_margin_used, self.total_ntl_pos, self.total_raw_usd
        )


class _UserStateW(_W):
    asset_positions: list[_AssetPositionW] = Field(alias="assetPositions")
    margin_summary: _MarginW = Field(alias="marginSummary")
    cross_margin_summary: _MarginW = Field(alias="crossMarginSummary")
    withdrawable: Decimal
    cross_maintenance_margin_used: Decimal | None = Field(
        default=None, alias="crossMaintenanceMarginUsed"
    )
    time: int | None = None


def parse_user_state(raw: Any) -> UserState:
    u = _validate(_UserStateW, raw)
    positions = []
    for ap in u.asset_positions:
        p = ap.position
        cf = p.cum_funding
        positions.append(
            Position(
                coin=p.coin,
                size=p.szi,
                entry_px=p.entry_px,
                leverage_type=p.leverage.type,
                leverage=p.leverage.value,
                liquidation_px=p.liquidation_px,
                margin_used=p.margin_used,
                position_value=p.position_value,
                unrealized_pnl=p.unrealized_pnl,
                return_on_equity=p.return_on_equity,
                max_leverage=p.max_leverage,
                cum_funding=(
                    CumulativeFunding(cf.all_time, cf.since_open, cf.since_change) if cf else None
                ),
            )
        )
    return UserState(
        positions=tuple(positions),
        margin_summary=u.margin_summary.domain(),
        cross_margin_summary=u.cross_margin_summary.domain(),
        withdrawable=u.withdrawable,
        cross_maintenance_margin_used=u.cross_maintenance_margin_used,
        time=ms_to_dt(u.time) if u.time is not None else None,
    )


class _OrderW(_W):
    coin: str
    oid: int
    side: str
    limit_px: Decimal = Field(alias="limitPx")
    sz: Decimal
    orig_sz: Decimal | None = Field(default=None, alias="origSz")
    timestamp: int
    cloid: str | None = None
    reduce_only: bool | None = Field(default=None, alias="reduceOnly")
    tif: str | None = None
    order_type: str | None = Field(default=None, alias="orderType")

    def domain(self) -> OpenOrder:
        return OpenOrder(
            coin=self.coin,
            oid=self.oid,
            side=_side(self.side),
            limit_px=self.limit_px,
            size=self.sz,
            orig_size=self.orig_sz,
            timestamp=ms_to_dt(self.timestamp),
            cloid=self.cloid,
            reduce_only=self.reduce_only,
            tif=self.tif,
            order_type=self.order_type,
        )


def parse_open_orders(raw: Any) -> list[OpenOrder]:
    """``openOrders`` and ``frontendOpenOrders`` (the latter carries more fields)."""
    return [o.domain() for o in _validate(list[_OrderW], raw)]


class _StatusW(_W):
    order: _OrderW
    status: str
    status_timestamp: int = Field(alias="statusTimestamp")

    def domain(self) -> OrderStatus:
        return OrderStatus(self.order.domain(), self.status, ms_to_dt(self.status_timestamp))


class _OrderStatusW(_W):
    status: str
    order: _StatusW | None = None


def parse_order_status(raw: Any) -> OrderStatus | None:
    """None when the venue does not know the order (``{"status": "unknownOid"}``)."""
    r = _validate(_OrderStatusW, raw)
    if r.status == "unknownOid":
        return None
    if r.status != "order" or r.order is None:
        raise BadResponse(f"orderStatus: unexpected status {r.status!r}")
    return r.order.domain()


def parse_historical_orders(raw: Any) -> list[OrderStatus]:
    return [s.domain() for s in _validate(list[_StatusW], raw)]


class _LiquidationW(_W):
    liquidated_user: str | None = Field(default=None, alias="liquidatedUser")


class _FillW(_W):
    coin: str
    px: Decimal
    sz: Decimal
    side: str
    time: int
    start_position: Decimal = Field(alias="startPosition")
    dir: str
    closed_pnl: Decimal = Field(alias="closedPnl")
    hash: str
    oid: int
    crossed: bool
    fee: Decimal
    tid: int | None = None
    fee_token: str | None = Field(default=None, alias="feeToken")
    cloid: str | None = None
    liquidation: _LiquidationW | None = None

    def domain(self) -> Fill:
        return Fill(
            coin=self.coin,
            oid=self.oid,
            tid=self.tid,
            px=self.px,
            sz=self.sz,
            side=_side(self.side),
            direction=self.dir,
            fee=self.fee,
            closed_pnl=self.closed_pnl,
            time=ms_to_dt(self.time),
            hash=self.hash,
            crossed=self.crossed,
            start_position=self.start_position,
            fee_token=self.fee_token,
            cloid=self.cloid,
            liquidation=self.liquidation is not None,
        )


def parse_user_fills(raw: Any) -> list[Fill]:
    """``userFills`` (newest first) and ``userFillsByTime`` (oldest first)."""
    return [f.domain() for f in _validate(list[_FillW], raw)]


class _TwapSliceW(_W):
    fill: _FillW


def parse_twap_slice_fills(raw: Any) -> list[Fill]:
    return [s.fill.domain() for s in _validate(list[_TwapSliceW], raw)]


class _FundingDeltaW(_W):
    type: str
    coin: str
    usdc: Decimal
    szi: Decimal
    funding_rate: Decimal = Field(alias="fundingRate")


class _UserFundingW(_W):
    time: int
    hash: str
    delta: _FundingDeltaW


def parse_user_funding(raw: Any) -> list[FundingPayment]:
    out = []
    for r in _validate(list[_UserFundingW], raw):
        if r.delta.type != "funding":
            raise BadResponse(f"userFunding: unexpected delta type {r.delta.type!r}")
        d = r.delta
        out.append(FundingPayment(d.coin, ms_to_dt(r.time), d.usdc, d.szi, d.funding_rate, r.hash))
    return out


class _LedgerDeltaW(_W):
    type: str
    usdc: Decimal | None = None
    usdc_value: Decimal | None = Field(default=None, alias="usdcValue")


class _LedgerW(_W):
    time: int
    hash: str
    delta: _LedgerDeltaW


def parse_ledger_updates(raw: Any) -> list[LedgerUpdate]:
    return [
        LedgerUpdate(
            ms_to_dt(r.time),
            r.hash,
            r.delta.type,
            r.delta.usdc if r.delta.usdc is not None else r.delta.usdc_value,
        )
        for r in _validate(list[_LedgerW], raw)
    ]


class _DelegatorW(_W):
    time: int
    hash: str
    delta: dict[str, dict[str, Any]]


def parse_delegator_history(raw: Any) -> list[DelegatorEvent]:
    out = []
    for r in _validate(list[_DelegatorW], raw):
        if len(r.delta) != 1:
            raise BadResponse("delegatorHistory: expected one delta kind per event")
        ((kind, body),) = r.delta.items()
        amount = body.get("amount")
        out.append(
            DelegatorEvent(ms_to_dt(r.time), r.hash, kind, Decimal(str(amount)) if amount else None)
        )
    return out


class _AgentW(_W):
    name: str
    address: str
    valid_until: int | None = Field(default=None, alias="validUntil")


def parse_extra_agents(raw: Any) -> list[Agent]:
    return [
        Agent(a.name, a.address, ms_to_dt(a.valid_until) if a.valid_until else None)
        for a in _validate(list[_AgentW], raw)
    ]


class _RoleDataW(_W):
    user: str | None = None
    master: str | None = None


class _RoleW(_W):
    role: str
    data: _RoleDataW | None = None


def parse_user_role(raw: Any) -> UserRole:
    r = _validate(_RoleW, raw)
    master = (r.data.user or r.data.master) if r.data else None
    return UserRole(r.role, master)


class _RateLimitW(_W):
    cum_vlm: Decimal = Field(alias="cumVlm")
    n_requests_used: int = Field(alias="nRequestsUsed")
    n_requests_cap: int = Field(alias="nRequestsCap")


def parse_user_rate_limit(raw: Any) -> RateLimitStatus:
    r = _validate(_RateLimitW, raw)
    return RateLimitStatus(r.cum_vlm, r.n_requests_used, r.n_requests_cap)


class _VaultEquityW(_W):
    vault_address: str = Field(alias="vaultAddress")
    equity: Decimal
    locked_until: int | None = Field(default=None, alias="lockedUntilTimestamp")


def parse_vault_equities(raw: Any) -> list[VaultEquity]:
    return [
        VaultEquity(v.vault_address, v.equity, ms_to_dt(v.locked_until) if v.locked_until else None)
        for v in _validate(list[_VaultEquityW], raw)
    ]


class _PortfolioW(_W):
    account_value_history: list[tuple[int, Decimal]] = Field(alias="accountValueHistory")
    pnl_history: list[tuple[int, Decimal]] = Field(alias="pnlHistory")
    vlm: Decimal


def parse_portfolio(raw: Any) -> dict[str, PortfolioPeriod]:
    out = {}
    for name, p in _validate(list[tuple[str, _PortfolioW]], raw):
        out[name] = PortfolioPeriod(
            name,
            tuple((ms_to_dt(t), v) for t, v in p.account_value_history),
            tuple((ms_to_dt(t), v) for t, v in p.pnl_history),
            p.vlm,
        )
    return out


# ---- dispatch -------------------------------------------------------------------------------

PARSERS: dict[str, Callable[[Any], object]] = {
    "meta": parse_meta,
    "metaAndAssetCtxs": parse_meta_and_asset_ctxs,
    "allMids": parse_all_mids,
    "l2Book": parse_l2_book,
    "predictedFundings": parse_predicted_fundings,
    "fundingHistory": parse_funding_history,
    "candleSnapshot": parse_candles,
    "clearinghouseState": parse_user_state,
    "openOrders": parse_open_orders,
    "frontendOpenOrders": parse_open_orders,
    "orderStatus": parse_order_status,
    "historicalOrders": parse_historical_orders,
    "userFills": parse_user_fills,
    "userFillsByTime": parse_user_fills,
    "userTwapSliceFills": parse_twap_slice_fills,
    "userFunding": parse_user_funding,
    "userNonFundingLedgerUpdates": parse_ledger_updates,
    "delegatorHistory": parse_delegator_history,
    "extraAgents": parse_extra_agents,
    "userRole": parse_user_role,
    "userRateLimit": parse_user_rate_limit,
    "userVaultEquities": parse_vault_equities,
    "portfolio": parse_portfolio,
}
"""Parser for each ``/info`` request type the client understands."""


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _validate(tp: type[T], raw: Any) -> T:
    adapter = _ADAPTERS.get(tp)
    if adapter is None:
        adapter = _ADAPTERS[tp] = TypeAdapter(tp)
    try:
        value: T = adapter.validate_python(raw)
    except ValidationError as exc:
        name = getattr(tp, "__name__", str(tp)).lstrip("_")
        raise BadResponse(f"unexpected {name} response: {exc.errors()[:3]}") from exc
    return value
