"""Idempotent order placement by cloid (see ``HyperliquidClient``'s module docstring)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from hyperliquid.utils import signing as sdk_signing
from hyperliquid.utils.types import Cloid

from venues.hyperliquid import parse
from venues.hyperliquid.errors import (
    HyperliquidError,
    TransportError,
    order_error,
    rejected_status_error,
)
from venues.hyperliquid.rounding import to_wire
from venues.hyperliquid.session import AccountSession, now_ms, statuses
from venues.hyperliquid.types import (
    Fill,
    OrderOutcome,
    OrderRequest,
    OrderResult,
    OrderStatus,
    check_cloid,
)

_FILL_LOOKBACK_MS = 60_000
_FILL_LAG_RETRIES = (0.2, 0.5)


class OrderPlacement(AccountSession):
    def _ttl_ms(self) -> int:
        return int(self.venue.order_ttl.total_seconds() * 1000)

    async def _sleep_past(self, deadline_ms: int) -> None:
        margin_ms = int(self.venue.settle_margin.total_seconds() * 1000)
        delay = (deadline_ms + margin_ms - now_ms()) / 1000
        if delay > 0:
            await asyncio.sleep(delay)

    async def _existing(self, cloid: str, prior_attempt: bool) -> OrderStatus | None:
        found = await self.order_status(cloid)
        if found is None and prior_attempt:
            await self._sleep_past(now_ms() + self._ttl_ms())
            found = await self.order_status(cloid)
        return found

    async def lookup(self, cloid: str, *, prior_attempt: bool = True) -> OrderResult | None:
        """What the order with this cloid achieved, or None when the venue never had it (after
        waiting out an attempt that may still be in flight when ``prior_attempt``). Raises
        the order's rejection if the venue refused it."""
        found = await self._existing(check_cloid(cloid), prior_attempt)
        return None if found is None else await self._from_status(found, replayed=True)

    async def _place(
        self,
        cloid: str,
        build: Callable[[], Awaitable[OrderRequest]],
        prior_attempt: bool,
    ) -> OrderResult:
        existing = await self._existing(cloid, prior_attempt)
        if existing is not None:
            return await self._from_status(existing, replayed=True)
        order = await build()
        asset = self.venue.asset(order.coin)
        wire = sdk_signing.order_request_to_order_wire(
            {
                "coin": order.coin,
                "is_buy": order.is_buy,
                "sz": float(order.size),
                "limit_px": float(order.price),
                "order_type": {"limit": {"tif": order.tif.value}},
                "reduce_only": order.reduce_only,
                "cloid": Cloid(order.cloid),
            },
            asset.index,
        )
        if wire["p"] != to_wire(order.price) or wire["s"] != to_wire(order.size):
            raise ValueError(f"{order} is not exactly representable on the wire")
        action = sdk_signing.order_wires_to_order_action([wire])
        nonce = self.venue.nonces.next(self.signer.address)
        expires_after = nonce + self._ttl_ms()
        try:
            response = await self._post_signed_l1(action, nonce, expires_after)
        except TransportError as exc:
            if not exc.maybe_applied:
                raise
            return await self._settle(order, expires_after, exc)
        return await self._from_response(order, response)

    async def _settle(
        self, order: OrderRequest, expires_after: int, cause: HyperliquidError
    ) -> OrderResult:
        """The placement may or may not have happened: find out by cloid."""
        try:
            found = await self.order_status(order.cloid)
        except TransportError:
            found = None
        if found is None:
            # Past its expiry the venue refuses the action, so the answer becomes final.
            await self._sleep_past(expires_after)
            found = await self.order_status(order.cloid)
        if found is None:
            raise cause  # never applied, and never will be: a plain retry is safe
        return await self._from_status(found, replayed=True)

    async def _from_response(self, order: OrderRequest, response: Any) -> OrderResult:
        status = statuses(response)[0]
        if not isinstance(status, dict):
            raise parse.BadResponse(f"order: unexpected status {status!r}")
        if "error" in status:
            raise order_error(str(status["error"]), cloid=order.cloid)
        if "filled" in status:
            filled = status["filled"]
            oid = int(filled["oid"])
            total = Decimal(str(filled["totalSz"]))
            avg = Decimal(str(filled["avgPx"]))
            fills = await self._fills_of(oid, total, recent=True)
            outcome = OrderOutcome.FILLED if total >= order.size else OrderOutcome.PARTIALLY_FILLED
            return OrderResult(order.cloid, oid, outcome, order.size, total, avg, fills)
        if "resting" in status:
            # A GTC may have filled in part before resting: the status says how much.
            oid = int(status["resting"]["oid"])
            found = await self.order_status(oid)
            if found is None:
                raise parse.BadResponse(f"order {oid} rests but the venue cannot find it")
            return await self._from_status(found, replayed=False)
        raise parse.BadResponse(f"order: unexpected status {status!r}")

    async def _from_status(self, found: OrderStatus, *, replayed: bool) -> OrderResult:
        o = found.order
        cloid = o.cloid or ""
        if found.is_rejected:
            raise rejected_status_error(found.status, cloid=o.cloid)
        requested = o.orig_size if o.orig_size is not None else o.size
        filled = found.filled_size
        fills = await self._fills_of(o.oid, filled, since=o.timestamp) if filled > 0 else ()
        if filled > 0 and filled >= requested:
            outcome = OrderOutcome.FILLED
        elif filled > 0:
            outcome = OrderOutcome.PARTIALLY_FILLED
        elif found.is_open:
            outcome = OrderOutcome.RESTING
        else:
            outcome = OrderOutcome.CANCELED
        avg = _avg_px(fills)
        return OrderResult(cloid, o.oid, outcome, requested, filled, avg, fills, replayed)

    async def _fills_of(
        self,
        oid: int,
        expected: Decimal,
        *,
        since: datetime | None = None,
        recent: bool = False,
    ) -> tuple[Fill, ...]:
        """The order's fills, which must add up to what the venue reports filled.

        ``recent``: it was just placed, so its fills are among the latest (this avoids
        comparing our clock with the venue's); otherwise they are read from the order's own
        venue timestamp. An info node may lag the one that matched the order by a block, so a
        short shortfall is read again before giving up (retryably: a retry finds the order by
        cloid and reads its fills afresh)."""
        got = Decimal(0)
        for delay in (*_FILL_LAG_RETRIES, None):
            if recent or since is None:
                found = await self.fills()
            else:
                start = parse.ms_to_dt(parse.dt_to_ms(since) - _FILL_LOOKBACK_MS)
                found = await self.fills(start)
            fills = tuple(
                sorted((f for f in found if f.oid == oid), key=lambda f: (f.time, f.tid or 0))
            )
            got = sum((f.sz for f in fills), Decimal(0))
            if got == expected:
                return fills
            if delay is not None:
                await asyncio.sleep(delay)
        raise parse.BadResponse(f"order {oid}: fills add up to {got}, venue reports {expected}")


def _avg_px(fills: tuple[Fill, ...]) -> Decimal | None:
    size = sum((f.sz for f in fills), Decimal(0))
    if size == 0:
        return None
    return sum((f.px * f.sz for f in fills), Decimal(0)) / size
