"""Typed results of the Hyperliquid client. Money, prices and sizes are ``Decimal``; times are
timezone-aware UTC. Signed sizes follow the venue: positive long, negative short."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from models.domain import OrderSide

_CLOID = re.compile(r"^0x[0-9a-f]{32}$")


def make_cloid(*parts: object) -> str:
    """A client order id derived from what identifies the order (position, leg, attempt), so
    every retry of the same attempt carries the same cloid: ``0x`` + 32 lower-case hex."""
    if not parts:
        raise ValueError("a cloid needs at least one identifying part")
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()
    return "0x" + digest[:32]


def check_cloid(cloid: str) -> str:
    if not _CLOID.match(cloid):
        raise ValueError(f"cloid must be 0x followed by 32 lower-case hex digits, got {cloid!r}")
    return cloid


class Tif(StrEnum):
    GTC = "Gtc"
    IOC = "Ioc"
    ALO = "Alo"


class LeverageType(StrEnum):
    CROSS = "cross"
    ISOLATED = "isolated"


class OrderOutcome(StrEnum):
    RESTING = "resting"
    FILLED = "filled"
    PARTIALLY_FILLED = "partially_filled"
    """Some size filled; the rest is resting (GTC) or was cancelled (IOC)."""
    CANCELED = "canceled"
    """Nothing filled and nothing rests (cancelled after resting, or by the venue)."""


# ---- market ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssetInfo:
    index: int
    name: str
    sz_decimals: int
    max_leverage: int
    only_isolated: bool = False


@dataclass(frozen=True, slots=True)
class AssetContext:
    coin: str
    mark_px: Decimal
    oracle_px: Decimal
    mid_px: Decimal | None
    funding_rate: Decimal
    """Current hourly rate; positive: longs pay shorts."""
    premium: Decimal | None
    open_interest: Decimal
    impact_bid: Decimal | None
    impact_ask: Decimal | None
    day_notional_volume: Decimal
    prev_day_px: Decimal


@dataclass(frozen=True, slots=True)
class BookLevel:
    px: Decimal
    sz: Decimal
    n: int


@dataclass(frozen=True, slots=True)
class L2Book:
    coin: str
    time: datetime
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].px if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].px if self.asks else None


@dataclass(frozen=True, slots=True)
class FundingRate:
    """A settled hourly funding."""

    coin: str
    time: datetime
    rate: Decimal
    premium: Decimal | None


@dataclass(frozen=True, slots=True)
class PredictedFunding:
    coin: str
    venue: str
    """``HlPerp`` for Hyperliquid; the venue also predicts other exchanges' rates."""
    rate: Decimal | None
    next_funding_time: datetime | None
    interval_hours: int | None


@dataclass(frozen=True, slots=True)
class Candle:
    coin: str
    interval: str
    open_time: datetime
    close_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trades: int


# ---- account --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CumulativeFunding:
    """Funding *paid* by the position (the venue's sign: positive = paid, negative = received)."""

    all_time: Decimal
    since_open: Decimal
    since_change: Decimal


@dataclass(frozen=True, slots=True)
class Position:
    coin: str
    size: Decimal
    """Signed: negative for a short."""
    entry_px: Decimal | None
    leverage_type: LeverageType
    leverage: int
    liquidation_px: Decimal | None
    margin_used: Decimal
    position_value: Decimal
    unrealized_pnl: Decimal
    return_on_equity: Decimal
    max_leverage: int | None = None
    cum_funding: CumulativeFunding | None = None

    @property
    def side(self) -> OrderSide:
        """The side that opened this position."""
        return OrderSide.BUY if self.size > 0 else OrderSide.SELL


@dataclass(frozen=True, slots=True)
class MarginSummary:
    account_value: Decimal
    total_margin_used: Decimal
    total_ntl_pos: Decimal
    total_raw_usd: Decimal


@dataclass(frozen=True, slots=True)
class UserState:
    positions: tuple[Position, ...]
    margin_summary: MarginSummary
    cross_margin_summary: MarginSummary
    withdrawable: Decimal
    cross_maintenance_margin_used: Decimal | None
    time: datetime | None

    def position(self, coin: str) -> Position | None:
        return next((p for p in self.positions if p.coin == coin), None)

    @property
    def account_value(self) -> Decimal:
        return self.margin_summary.account_value

    @property
    def margin_fraction(self) -> Decimal | None:
        """Account value over open notional (equity per dollar of exposure); None when flat."""
        ntl = self.margin_summary.total_ntl_pos
        return self.margin_summary.account_value / ntl if ntl > 0 else None

    @property
    def maintenance_ratio(self) -> Decimal | None:
        """Cross maintenance margin over cross account value: liquidation at 1."""
        mm = self.cross_maintenance_margin_used
        av = self.cross_margin_summary.account_value
        if mm is None or av <= 0:
            return None
        return mm / av


@dataclass(frozen=True, slots=True)
class OpenOrder:
    coin: str
    oid: int
    side: OrderSide
    limit_px: Decimal
    size: Decimal
    """Remaining size."""
    orig_size: Decimal | None
    timestamp: datetime
    cloid: str | None = None
    reduce_only: bool | None = None
    tif: str | None = None
    order_type: str | None = None


@dataclass(frozen=True, slots=True)
class OrderStatus:
    order: OpenOrder
    status: str
    """``open``, ``filled``, ``canceled``, ``triggered``, ``rejected``, ``marginCanceled``,
    or a specific rejection such as ``perpMarginRejected``."""
    status_time: datetime

    @property
    def filled_size(self) -> Decimal:
        """Original minus remaining size (the venue reports a filled order's remaining size
        as 0)."""
        if self.order.orig_size is None:
            return self.order.size if self.status == "filled" else Decimal(0)
        return self.order.orig_size - self.order.size

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def is_rejected(self) -> bool:
        return self.status == "rejected" or self.status.endswith("Rejected")


@dataclass(frozen=True, slots=True)
class Fill:
    coin: str
    oid: int
    tid: int | None
    """Trade id (absent from fills older than mid-2023)."""
    px: Decimal
    sz: Decimal
    side: OrderSide
    direction: str
    """``Open Long``, ``Close Short``, ``Long > Short``, ..."""
    fee: Decimal
    closed_pnl: Decimal
    time: datetime
    hash: str
    crossed: bool
    """True when this fill took liquidity (taker)."""
    start_position: Decimal
    fee_token: str | None = None
    cloid: str | None = None
    liquidation: bool = False


@dataclass(frozen=True, slots=True)
class FundingPayment:
    coin: str
    time: datetime
    usdc: Decimal
    """Positive: received; negative: paid."""
    size: Decimal
    rate: Decimal
    hash: str


@dataclass(frozen=True, slots=True)
class LedgerUpdate:
    """A non-funding balance change (deposit, withdrawal, class transfer, ...)."""

    time: datetime
    hash: str
    kind: str
    usdc: Decimal | None


@dataclass(frozen=True, slots=True)
class Agent:
    name: str
    address: str
    valid_until: datetime | None


@dataclass(frozen=True, slots=True)
class UserRole:
    role: str
    """``user``, ``agent``, ``vault``, ``subAccount`` or ``missing``."""
    master: str | None = None


@dataclass(frozen=True, slots=True)
class RateLimitStatus:
    cum_volume: Decimal
    requests_used: int
    requests_cap: int


@dataclass(frozen=True, slots=True)
class OrderResult:
    """What a placement achieved. ``replayed`` is True when the order was found by its cloid
    (an earlier attempt reached the venue) instead of being sent again."""

    cloid: str
    oid: int
    outcome: OrderOutcome
    requested_size: Decimal
    filled_size: Decimal
    avg_px: Decimal | None
    fills: tuple[Fill, ...] = field(default=())
    replayed: bool = False

    @property
    def fee(self) -> Decimal:
        return sum((f.fee for f in self.fills), Decimal(0))

    @property
    def remaining_size(self) -> Decimal:
        return self.requested_size - self.filled_size


@dataclass(frozen=True, slots=True)
class VaultEquity:
    vault_address: str
    equity: Decimal
    locked_until: datetime | None


@dataclass(frozen=True, slots=True)
class PortfolioPeriod:
    """One window of the venue's portfolio graph (``day``, ``week``, ``perpAllTime``, ...)."""

    name: str
    account_value: tuple[tuple[datetime, Decimal], ...]
    pnl: tuple[tuple[datetime, Decimal], ...]
    volume: Decimal


@dataclass(frozen=True, slots=True)
class DelegatorEvent:
    time: datetime
    hash: str
    kind: str
    """``delegate``, ``cDeposit``, ``withdrawal``, ..."""
    amount: Decimal | None


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A limit order. A "market" order is an IOC at mid +/- slippage (see
    ``HyperliquidClient.market_order``). ``price`` and ``size`` are sent exactly as given:
    round them with ``venues.hyperliquid.rounding`` first."""

    coin: str
    side: OrderSide
    size: Decimal
    price: Decimal
    cloid: str
    tif: Tif = Tif.GTC
    reduce_only: bool = False

    def __post_init__(self) -> None:
        check_cloid(self.cloid)
        if self.size <= 0 or self.price <= 0:
            raise ValueError("size and price must be positive")

    @property
    def is_buy(self) -> bool:
        return self.side is OrderSide.BUY


class CancelOutcome(StrEnum):
    CANCELED = "canceled"
    NOT_OPEN = "not_open"
    """Nothing to cancel: never placed, already cancelled, or filled. Query the order's status
    to tell which."""
