"""``HyperliquidClient``: one user's signed actions on Hyperliquid.

Cheap to build (no I/O): ``HyperliquidClient(venue, signer, account_address=master)``. A
Temporal activity builds one per call from the shared ``HyperliquidVenue`` and the user's
signer. With an API wallet as ``signer``, ``account_address`` is the master account it trades
for (queries and positions are the master's).

Placement is idempotent by cloid: ``place_order`` first looks the cloid up and returns the
earlier attempt's result if the venue knows it. Every order is signed with an expiry
(``expiresAfter``), so an unanswered placement settles within ``order_ttl``: the client then
asks again by cloid and either finds the order or knows it will never exist.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from hyperliquid.utils import signing as sdk_signing
from hyperliquid.utils.types import Cloid

from models.domain import OrderSide
from venues.hyperliquid import parse
from venues.hyperliquid.errors import (
    ActionRejected,
    HyperliquidError,
    OutcomeUnknown,
    TransportError,
    action_error,
    order_error,
    rejected_status_error,
)
from venues.hyperliquid.rounding import round_size, slippage_price, to_wire
from venues.hyperliquid.signing import Signer, prepare_user_signed
from venues.hyperliquid.types import (
    CancelOutcome,
    Fill,
    FundingPayment,
    OpenOrder,
    OrderOutcome,
    OrderRequest,
    OrderResult,
    OrderStatus,
    Tif,
    UserState,
    check_cloid,
)
from venues.hyperliquid.venue import HyperliquidVenue

_USD_CLASS_TRANSFER = "HyperliquidTransaction:UsdClassTransfer"
_APPROVE_AGENT = "HyperliquidTransaction:ApproveAgent"
_APPROVE_AGENT_TYPES = (
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "agentAddress", "type": "address"},
    {"name": "agentName", "type": "string"},
    {"name": "nonce", "type": "uint64"},
)
_FILL_LOOKBACK_MS = 60_000


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class HyperliquidClient:
    def __init__(
        self,
        venue: HyperliquidVenue,
        signer: Signer,
        *,
        account_address: str | None = None,
    ) -> None:
        self.venue = venue
        self.signer = signer
        self.address = (account_address or signer.address).lower()
        """The account traded: the master when ``signer`` is an API wallet."""

    # ---- reads of this account --------------------------------------------------------------

    async def user_state(self) -> UserState:
        return await self.venue.user_state(self.address)

    async def open_orders(self) -> list[OpenOrder]:
        return await self.venue.open_orders(self.address)

    async def order_status(self, order: int | str) -> OrderStatus | None:
        return await self.venue.order_status(self.address, order)

    async def fills(self, start: datetime | None = None, end: datetime | None = None) -> list[Fill]:
        return await self.venue.user_fills(self.address, start, end)

    async def funding_payments(
        self, start: datetime, end: datetime | None = None
    ) -> list[FundingPayment]:
        return await self.venue.user_funding(self.address, start, end)

    # ---- orders -----------------------------------------------------------------------------

    async def place_order(self, order: OrderRequest, *, prior_attempt: bool = False) -> OrderResult:
        """Place ``order`` unless its cloid already exists; return what it achieved.

        ``prior_attempt``: an earlier call with this cloid may have reached the venue without
        an answer (set it on every activity retry). The client then waits out that attempt's
        expiry before trusting a "not found". Raises an ``OrderRejected`` subclass when the
        venue refused the order (now, or in the earlier attempt).
        """
        self.venue.asset(order.coin)
        return await self._place(order.cloid, lambda: _ready(order), prior_attempt)

    async def market_order(
        self,
        coin: str,
        side: OrderSide,
        size: Decimal,
        *,
        slippage_bps: Decimal,
        cloid: str,
        reduce_only: bool = False,
        prior_attempt: bool = False,
    ) -> OrderResult:
        """An IOC limit at mid moved ``slippage_bps`` against us: fills what the book offers
        inside that price, cancels the rest."""
        asset = self.venue.asset(coin)

        async def build() -> OrderRequest:
            mid = await self.venue.mid(coin)
            px = slippage_price(
                mid,
                is_buy=side is OrderSide.BUY,
                slippage_bps=slippage_bps,
                sz_decimals=asset.sz_decimals,
            )
            return OrderRequest(coin, side, size, px, cloid, Tif.IOC, reduce_only)

        return await self._place(check_cloid(cloid), build, prior_attempt)

    async def close_position(
        self,
        coin: str,
        *,
        slippage_bps: Decimal,
        cloid: str,
        prior_attempt: bool = False,
    ) -> OrderResult | None:
        """Reduce-only market order for the whole position. None when there is no position
        and no earlier attempt with this cloid (nothing to close)."""
        asset = self.venue.asset(coin)
        check_cloid(cloid)
        existing = await self._existing(cloid, prior_attempt)
        if existing is not None:
            return await self._from_status(existing, replayed=True)
        position = (await self.user_state()).position(coin)
        if position is None or position.size == 0:
            return None
        side = OrderSide.SELL if position.size > 0 else OrderSide.BUY
        size = round_size(abs(position.size), asset.sz_decimals)
        return await self.market_order(
            coin, side, size, slippage_bps=slippage_bps, cloid=cloid, reduce_only=True
        )

    async def cancel_order(self, coin: str, cloid: str) -> CancelOutcome:
        """Cancel by cloid. Idempotent: an order that is no longer open gives ``NOT_OPEN``."""
        asset = self.venue.asset(coin)
        action = {
            "type": "cancelByCloid",
            "cancels": [{"asset": asset.index, "cloid": check_cloid(cloid)}],
        }
        statuses = _statuses(await self._send_l1(action))
        status = statuses[0]
        if status == "success":
            return CancelOutcome.CANCELED
        if isinstance(status, dict) and "error" in status:
            message = str(status["error"])
            if message.startswith("Order was never placed, already canceled, or filled"):
                return CancelOutcome.NOT_OPEN
            raise ActionRejected(message, venue_message=message)
        raise parse.BadResponse(f"cancel: unexpected status {status!r}")

    async def schedule_cancel(self, at: datetime | None) -> None:
        """Dead-man switch: the venue cancels every open order at ``at`` (at least 5 s ahead)
        unless called again. ``None`` removes it."""
        action: dict[str, Any] = {"type": "scheduleCancel"}
        if at is not None:
            action["time"] = parse.dt_to_ms(at)
        await self._send_l1(action)

    # ---- margin and transfers ---------------------------------------------------------------

    async def update_leverage(self, coin: str, leverage: int, *, cross: bool = True) -> None:
        """Integer leverage for ``coin`` (1..the asset's max), cross or isolated. Idempotent."""
        asset = self.venue.asset(coin)
        if isinstance(leverage, bool) or not isinstance(leverage, int) or leverage < 1:
            raise ValueError("leverage must be a positive integer")
        action = {
            "type": "updateLeverage",
            "asset": asset.index,
            "isCross": cross,
            "leverage": leverage,
        }
        await self._send_l1(action)

    async def update_isolated_margin(self, coin: str, amount: Decimal) -> None:
        """Add (positive) or remove (negative) USDC from an isolated position's margin.

        Not idempotent: when the request may have reached the venue without an answer this
        raises ``OutcomeUnknown``; read the position before trying again."""
        asset = self.venue.asset(coin)
        micro = amount * 1_000_000
        if micro != micro.to_integral_value():
            raise ValueError("amount has more than 6 decimals")
        action = {
            "type": "updateIsolatedMargin",
            "asset": asset.index,
            "isBuy": True,
            "ntli": int(micro),
        }
        await self._send_l1(action, idempotent=False)

    async def usd_class_transfer(self, amount: Decimal, *, to_perp: bool) -> None:
        """Move USDC between the spot and perp balances. Not idempotent (see
        ``update_isolated_margin``). Only the account's own key may sign it."""
        if amount <= 0:
            raise ValueError("amount must be positive")
        nonce = self.venue.nonces.next(self.signer.address)
        action = prepare_user_signed(
            {
                "type": "usdClassTransfer",
                "amount": to_wire(amount),
                "toPerp": to_perp,
                "nonce": nonce,
            },
            is_mainnet=self.venue.is_mainnet,
        )
        signature = await self.signer.sign_user_signed_action(
            action,
            sign_types=sdk_signing.USD_CLASS_TRANSFER_SIGN_TYPES,
            primary_type=_USD_CLASS_TRANSFER,
            is_mainnet=self.venue.is_mainnet,
        )
        await self._post(action, signature.to_wire(), nonce, None, idempotent=False)

    async def approve_agent(self, agent_address: str, name: str | None = None) -> None:
        """Authorise an API wallet to sign L1 actions for this account (the signer must be the
        account's own key). Re-approving the same wallet is harmless."""
        nonce = self.venue.nonces.next(self.signer.address)
        action = prepare_user_signed(
            {
                "type": "approveAgent",
                "agentAddress": agent_address,
                "agentName": name or "",
                "nonce": nonce,
            },
            is_mainnet=self.venue.is_mainnet,
        )
        signature = await self.signer.sign_user_signed_action(
            action,
            sign_types=_APPROVE_AGENT_TYPES,
            primary_type=_APPROVE_AGENT,
            is_mainnet=self.venue.is_mainnet,
        )
        if name is None:
            # The SDK signs an unnamed agent with "" and leaves the field off the wire.
            del action["agentName"]
        await self._post(action, signature.to_wire(), nonce, None)

    # ---- placement internals ----------------------------------------------------------------

    async def _existing(self, cloid: str, prior_attempt: bool) -> OrderStatus | None:
        found = await self.order_status(cloid)
        if found is None and prior_attempt:
            await self._sleep_past(_now_ms() + self._ttl_ms())
            found = await self.order_status(cloid)
        return found

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
        status = _statuses(response)[0]
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
        """The order's fills. ``recent``: it was just placed, so its fills are among the
        latest (this avoids comparing our clock with the venue's). Otherwise from the order's
        own venue timestamp."""
        if recent or since is None:
            found = await self.fills()
        else:
            found = await self.fills(parse.ms_to_dt(parse.dt_to_ms(since) - _FILL_LOOKBACK_MS))
        fills = tuple(
            sorted((f for f in found if f.oid == oid), key=lambda f: (f.time, f.tid or 0))
        )
        got = sum((f.sz for f in fills), Decimal(0))
        if got != expected:
            raise parse.BadResponse(f"order {oid}: fills add up to {got}, venue reports {expected}")
        return fills

    # ---- sending ----------------------------------------------------------------------------

    def _ttl_ms(self) -> int:
        return int(self.venue.order_ttl.total_seconds() * 1000)

    async def _sleep_past(self, deadline_ms: int) -> None:
        margin_ms = int(self.venue.settle_margin.total_seconds() * 1000)
        delay = (deadline_ms + margin_ms - _now_ms()) / 1000
        if delay > 0:
            await asyncio.sleep(delay)

    async def _send_l1(self, action: Mapping[str, Any], *, idempotent: bool = True) -> Any:
        nonce = self.venue.nonces.next(self.signer.address)
        return await self._post_signed_l1(action, nonce, None, idempotent=idempotent)

    async def _post_signed_l1(
        self,
        action: Mapping[str, Any],
        nonce: int,
        expires_after: int | None,
        *,
        idempotent: bool = True,
    ) -> Any:
        signature = await self.signer.sign_l1_action(
            action,
            nonce=nonce,
            vault_address=None,
            expires_after=expires_after,
            is_mainnet=self.venue.is_mainnet,
        )
        return await self._post(
            action, signature.to_wire(), nonce, expires_after, idempotent=idempotent
        )

    async def _post(
        self,
        action: Mapping[str, Any],
        signature: dict[str, Any],
        nonce: int,
        expires_after: int | None,
        *,
        idempotent: bool = True,
    ) -> Any:
        payload = {
            "action": dict(action),
            "nonce": nonce,
            "signature": signature,
            "vaultAddress": None,
            "expiresAfter": expires_after,
        }
        try:
            response = await self.venue.post_exchange(payload)
        except TransportError as exc:
            if exc.maybe_applied and not idempotent:
                raise OutcomeUnknown(
                    f"{action['type']} may or may not have been applied: {exc}", nonce=nonce
                ) from exc
            raise
        if not isinstance(response, dict) or "status" not in response:
            raise parse.BadResponse(f"exchange: unexpected response {str(response)[:200]}")
        if response["status"] == "err":
            raise action_error(str(response.get("response")))
        if response["status"] != "ok":
            raise parse.BadResponse(f"exchange: unexpected status {response['status']!r}")
        return response


async def _ready(order: OrderRequest) -> OrderRequest:
    return order


def _statuses(response: Any) -> list[Any]:
    try:
        statuses = response["response"]["data"]["statuses"]
    except (KeyError, TypeError):
        raise parse.BadResponse(f"exchange: no statuses in {str(response)[:200]}") from None
    if not isinstance(statuses, list) or len(statuses) != 1:
        raise parse.BadResponse(f"exchange: expected one status, got {statuses!r}")
    return statuses


def _avg_px(fills: tuple[Fill, ...]) -> Decimal | None:
    size = sum((f.sz for f in fills), Decimal(0))
    if size == 0:
        return None
    return sum((f.px * f.sz for f in fills), Decimal(0)) / size
