"""``AccountSession``: one signer acting on one account, the base of ``HyperliquidClient``.

Holds the signed-request plumbing (nonces, signing, posting, reading the venue's answer) and
the reads of the account, so the client module is only the public operations.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from venues.hyperliquid import parse
from venues.hyperliquid.errors import OutcomeUnknown, TransportError, action_error
from venues.hyperliquid.signing import Signer
from venues.hyperliquid.types import Fill, FundingPayment, OpenOrder, OrderStatus, UserState
from venues.hyperliquid.venue import HyperliquidVenue


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class AccountSession:
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

    # ---- sending ----------------------------------------------------------------------------

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


def statuses(response: Any) -> list[Any]:
    """The per-order (or per-cancel) statuses of an answer to a one-item batch."""
    try:
        found = response["response"]["data"]["statuses"]
    except (KeyError, TypeError):
        raise parse.BadResponse(f"exchange: no statuses in {str(response)[:200]}") from None
    if not isinstance(found, list) or len(found) != 1:
        raise parse.BadResponse(f"exchange: expected one status, got {found!r}")
    return found
