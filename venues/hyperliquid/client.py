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

from datetime import datetime
from decimal import Decimal
from typing import Any

from hyperliquid.utils import signing as sdk_signing

from models.domain import OrderSide
from venues.hyperliquid import parse
from venues.hyperliquid.errors import ActionRejected
from venues.hyperliquid.placement import OrderPlacement
from venues.hyperliquid.rounding import round_size, slippage_price, to_wire
from venues.hyperliquid.session import statuses
from venues.hyperliquid.signing import prepare_user_signed
from venues.hyperliquid.types import (
    CancelOutcome,
    OrderRequest,
    OrderResult,
    Tif,
    check_cloid,
)

_USD_CLASS_TRANSFER = "HyperliquidTransaction:UsdClassTransfer"
_APPROVE_AGENT = "HyperliquidTransaction:ApproveAgent"
_APPROVE_AGENT_TYPES = (
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "agentAddress", "type": "address"},
    {"name": "agentName", "type": "string"},
    {"name": "nonce", "type": "uint64"},
)


class HyperliquidClient(OrderPlacement):
    """One user's signed actions. Reads of the account (``user_state``, ``open_orders``,
    ``order_status``, ``fills``, ``funding_payments``) come from ``AccountSession``."""

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
        status = statuses(await self._send_l1(action))[0]
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


async def _ready(order: OrderRequest) -> OrderRequest:
    return order
