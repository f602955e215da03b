"""Parsers for orders and fills."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field

from venues.hyperliquid.parse.base import BadResponse, Wire, ms_to_dt, side, validate
from venues.hyperliquid.types import Fill, OpenOrder, OrderStatus


class _OrderW(Wire):
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
            side=side(self.side),
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
    return [o.domain() for o in validate(list[_OrderW], raw)]


class _StatusW(Wire):
    order: _OrderW
    status: str
    status_timestamp: int = Field(alias="statusTimestamp")

    def domain(self) -> OrderStatus:
        return OrderStatus(self.order.domain(), self.status, ms_to_dt(self.status_timestamp))


class _OrderStatusW(Wire):
    status: str
    order: _StatusW | None = None


def parse_order_status(raw: Any) -> OrderStatus | None:
    """None when the venue does not know the order (``{"status": "unknownOid"}``)."""
    r = validate(_OrderStatusW, raw)
    if r.status == "unknownOid":
        return None
    if r.status != "order" or r.order is None:
        raise BadResponse(f"orderStatus: unexpected status {r.status!r}")
    return r.order.domain()


def parse_historical_orders(raw: Any) -> list[OrderStatus]:
    return [s.domain() for s in validate(list[_StatusW], raw)]


class _LiquidationW(Wire):
    liquidated_user: str | None = Field(default=None, alias="liquidatedUser")


class _FillW(Wire):
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
            side=side(self.side),
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
    return [f.domain() for f in validate(list[_FillW], raw)]


class _TwapSliceW(Wire):
    fill: _FillW


def parse_twap_slice_fills(raw: Any) -> list[Fill]:
    return [s.fill.domain() for s in validate(list[_TwapSliceW], raw)]
