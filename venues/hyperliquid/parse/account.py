"""Parsers for account state: positions and margin, funding payments, ledger, agents."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field

from venues.hyperliquid.parse.base import BadResponse, Wire, ms_to_dt, validate
from venues.hyperliquid.types import (
    Agent,
    CumulativeFunding,
    DelegatorEvent,
    FundingPayment,
    LedgerUpdate,
    LeverageType,
    MarginSummary,
    PortfolioPeriod,
    Position,
    RateLimitStatus,
    UserRole,
    UserState,
    VaultEquity,
)


class _LeverageW(Wire):
    type: LeverageType
    value: int


class _CumFundingW(Wire):
    all_time: Decimal = Field(alias="allTime")
    since_open: Decimal = Field(alias="sinceOpen")
    since_change: Decimal = Field(alias="sinceChange")


class _PositionW(Wire):
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


class _AssetPositionW(Wire):
    position: _PositionW


class _MarginW(Wire):
    account_value: Decimal = Field(alias="accountValue")
    total_margin_used: Decimal = Field(alias="totalMarginUsed")
    total_ntl_pos: Decimal = Field(alias="totalNtlPos")
    total_raw_usd: Decimal = Field(alias="totalRawUsd")

    def domain(self) -> MarginSummary:
        return MarginSummary(
            self.account_value, self.total_margin_used, self.total_ntl_pos, self.total_raw_usd
        )


class _UserStateW(Wire):
    asset_positions: list[_AssetPositionW] = Field(alias="assetPositions")
    margin_summary: _MarginW = Field(alias="marginSummary")
    cross_margin_summary: _MarginW = Field(alias="crossMarginSummary")
    withdrawable: Decimal
    cross_maintenance_margin_used: Decimal | None = Field(
        default=None, alias="crossMaintenanceMarginUsed"
    )
    time: int | None = None


def parse_user_state(raw: Any) -> UserState:
    u = validate(_UserStateW, raw)
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


class _FundingDeltaW(Wire):
    type: str
    coin: str
    usdc: Decimal
    szi: Decimal
    funding_rate: Decimal = Field(alias="fundingRate")


class _UserFundingW(Wire):
    time: int
    hash: str
    delta: _FundingDeltaW


def parse_user_funding(raw: Any) -> list[FundingPayment]:
    out = []
    for r in validate(list[_UserFundingW], raw):
        if r.delta.type != "funding":
            raise BadResponse(f"userFunding: unexpected delta type {r.delta.type!r}")
        d = r.delta
        out.append(FundingPayment(d.coin, ms_to_dt(r.time), d.usdc, d.szi, d.funding_rate, r.hash))
    return out


class _LedgerDeltaW(Wire):
    type: str
    usdc: Decimal | None = None
    usdc_value: Decimal | None = Field(default=None, alias="usdcValue")


class _LedgerW(Wire):
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
        for r in validate(list[_LedgerW], raw)
    ]


class _DelegatorW(Wire):
    time: int
    hash: str
    delta: dict[str, dict[str, Any]]


def parse_delegator_history(raw: Any) -> list[DelegatorEvent]:
    out = []
    for r in validate(list[_DelegatorW], raw):
        if len(r.delta) != 1:
            raise BadResponse("delegatorHistory: expected one delta kind per event")
        ((kind, body),) = r.delta.items()
        amount = body.get("amount")
        out.append(
            DelegatorEvent(ms_to_dt(r.time), r.hash, kind, Decimal(str(amount)) if amount else None)
        )
    return out


class _AgentW(Wire):
    name: str
    address: str
    valid_until: int | None = Field(default=None, alias="validUntil")


def parse_extra_agents(raw: Any) -> list[Agent]:
    return [
        Agent(a.name, a.address, ms_to_dt(a.valid_until) if a.valid_until else None)
        for a in validate(list[_AgentW], raw)
    ]


class _RoleDataW(Wire):
    user: str | None = None
    master: str | None = None


class _RoleW(Wire):
    role: str
    data: _RoleDataW | None = None


def parse_user_role(raw: Any) -> UserRole:
    r = validate(_RoleW, raw)
    master = (r.data.user or r.data.master) if r.data else None
    return UserRole(r.role, master)


class _RateLimitW(Wire):
    cum_vlm: Decimal = Field(alias="cumVlm")
    n_requests_used: int = Field(alias="nRequestsUsed")
    n_requests_cap: int = Field(alias="nRequestsCap")


def parse_user_rate_limit(raw: Any) -> RateLimitStatus:
    r = validate(_RateLimitW, raw)
    return RateLimitStatus(r.cum_vlm, r.n_requests_used, r.n_requests_cap)


class _VaultEquityW(Wire):
    vault_address: str = Field(alias="vaultAddress")
    equity: Decimal
    locked_until: int | None = Field(default=None, alias="lockedUntilTimestamp")


def parse_vault_equities(raw: Any) -> list[VaultEquity]:
    return [
        VaultEquity(v.vault_address, v.equity, ms_to_dt(v.locked_until) if v.locked_until else None)
        for v in validate(list[_VaultEquityW], raw)
    ]


class _PortfolioW(Wire):
    account_value_history: list[tuple[int, Decimal]] = Field(alias="accountValueHistory")
    pnl_history: list[tuple[int, Decimal]] = Field(alias="pnlHistory")
    vlm: Decimal


def parse_portfolio(raw: Any) -> dict[str, PortfolioPeriod]:
    out = {}
    for name, p in validate(list[tuple[str, _PortfolioW]], raw):
        out[name] = PortfolioPeriod(
            name,
            tuple((ms_to_dt(t), v) for t, v in p.account_value_history),
            tuple((ms_to_dt(t), v) for t, v in p.pnl_history),
            p.vlm,
        )
    return out
