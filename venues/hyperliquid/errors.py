"""Hyperliquid errors: one root, retry semantics on the error.

``retryable`` answers one question for the caller (a Temporal activity): may the same call be
made again as it is? Transport failures are retryable; business rejections are not (the same
request would be refused the same way). Activities translate with
``ApplicationError(str(exc), type=exc.code, non_retryable=not exc.retryable)``.

The venue reports failures in three places, each mapped here:
- HTTP status (429, 5xx, other 4xx);
- an action-level ``{"status": "err", "response": "<message>"}`` (HTTP 200);
- a per-order ``{"error": "<message>"}`` inside an ``ok`` order response.
"""

from __future__ import annotations


class HyperliquidError(Exception):
    """Root of every error the Hyperliquid client raises."""

    code = "hyperliquid.error"
    retryable = False

    def __init__(self, message: str, *, venue_message: str | None = None) -> None:
        super().__init__(message)
        self.venue_message = venue_message
        """The venue's own words, when the venue answered."""


# ---- transport: nothing definite is known about the request; try again ----------------------


class TransportError(HyperliquidError):
    """No definite answer. ``maybe_applied`` says whether the venue may nevertheless have acted
    on the request (a timeout or a dropped connection after sending) or certainly did not (a
    refused connection, a 429)."""

    code = "hyperliquid.transport"
    retryable = True

    def __init__(
        self, message: str, *, venue_message: str | None = None, maybe_applied: bool = True
    ) -> None:
        super().__init__(message, venue_message=venue_message)
        self.maybe_applied = maybe_applied


class Timeout(TransportError):
    code = "hyperliquid.timeout"


class ConnectionFailed(TransportError):
    code = "hyperliquid.connection"


class ServerError(TransportError):
    code = "hyperliquid.server_error"

    def __init__(self, message: str, *, status: int, venue_message: str | None = None) -> None:
        # A 5xx may come from a proxy after the venue acted.
        super().__init__(message, venue_message=venue_message, maybe_applied=True)
        self.status = status


class RateLimited(TransportError):
    code = "hyperliquid.rate_limited"


class OutcomeUnknown(HyperliquidError):
    """A non-idempotent action (a transfer, an isolated-margin change) may or may not have
    taken effect. Not retryable as is: read the account, then decide."""

    code = "hyperliquid.outcome_unknown"

    def __init__(self, message: str, *, nonce: int) -> None:
        super().__init__(message)
        self.nonce = nonce


# ---- the request itself is wrong -------------------------------------------------------------


class RequestRejected(HyperliquidError):
    """HTTP 4xx other than 429: a malformed request. A bug on our side, not a market fact."""

    code = "hyperliquid.request_rejected"


class UnknownAsset(HyperliquidError):
    code = "hyperliquid.unknown_asset"


# ---- the venue refused the action ------------------------------------------------------------


class ActionRejected(HyperliquidError):
    """``{"status": "err"}``: the whole action was refused."""

    code = "hyperliquid.action_rejected"


class BadSignature(ActionRejected):
    """The signature recovered to an address the venue does not know: a wrong key, a wrong
    chain (mainnet/testnet source), or an API wallet that was never approved or has expired."""

    code = "hyperliquid.bad_signature"


class InvalidNonce(ActionRejected):
    """The nonce was reused, too old or too far ahead. Nothing was applied, so signing again
    with a fresh nonce is safe."""

    code = "hyperliquid.invalid_nonce"
    retryable = True


class ActionExpired(ActionRejected):
    """The action arrived after its ``expiresAfter``: refused, nothing applied."""

    code = "hyperliquid.action_expired"
    retryable = True


class OrderRejected(HyperliquidError):
    """A per-order rejection inside an accepted order action, or the recorded rejection of an
    earlier attempt with the same cloid."""

    code = "hyperliquid.order_rejected"

    def __init__(
        self, message: str, *, venue_message: str | None = None, cloid: str | None = None
    ) -> None:
        super().__init__(message, venue_message=venue_message)
        self.cloid = cloid


class InsufficientMargin(OrderRejected):
    code = "hyperliquid.insufficient_margin"


class ReduceOnlyViolation(OrderRejected):
    code = "hyperliquid.reduce_only"


class TickSizeViolation(OrderRejected):
    code = "hyperliquid.tick_size"


class LotSizeViolation(OrderRejected):
    code = "hyperliquid.lot_size"


class MinNotionalViolation(OrderRejected):
    code = "hyperliquid.min_notional"


class IocNotFilled(OrderRejected):
    """An IOC (market) order found nothing to match inside its limit price."""

    code = "hyperliquid.ioc_not_filled"


class PostOnlyWouldCross(OrderRejected):
    code = "hyperliquid.post_only_would_cross"


class PriceTooFarFromOracle(OrderRejected):
    code = "hyperliquid.price_too_far"


# The venue's messages (per order, or per action), matched by prefix: the live venue appends
# context such as " asset=5" to some of them.
_ORDER_MESSAGES: tuple[tuple[str, type[OrderRejected]], ...] = (
    ("Insufficient margin", InsufficientMargin),
    ("Reduce only order would increase position", ReduceOnlyViolation),
    ("Price must be divisible by tick size", TickSizeViolation),
    ("Order has invalid size", LotSizeViolation),
    ("Order must have minimum value", MinNotionalViolation),
    ("Order could not immediately match", IocNotFilled),
    ("Post only order would have immediately matched", PostOnlyWouldCross),
    ("Order price too far from oracle", PriceTooFarFromOracle),
)

# orderStatus statuses of rejected orders, for a retried placement that finds its earlier
# attempt rejected.
_REJECTED_STATUSES: dict[str, type[OrderRejected]] = {
    "perpMarginRejected": InsufficientMargin,
    "reduceOnlyRejected": ReduceOnlyViolation,
    "tickRejected": TickSizeViolation,
    "minTradeNtlRejected": MinNotionalViolation,
    "iocCancelRejected": IocNotFilled,
    "badAloPxRejected": PostOnlyWouldCross,
    "oracleRejected": PriceTooFarFromOracle,
}


def order_error(message: str, *, cloid: str | None = None) -> OrderRejected:
    """The typed error for a per-order ``{"error": message}``."""
    for prefix, cls in _ORDER_MESSAGES:
        if message.startswith(prefix):
            return cls(message, venue_message=message, cloid=cloid)
    return OrderRejected(message, venue_message=message, cloid=cloid)


def rejected_status_error(status: str, *, cloid: str | None) -> OrderRejected:
    cls = _REJECTED_STATUSES.get(status, OrderRejected)
    return cls(f"order {cloid} was rejected earlier ({status})", venue_message=status, cloid=cloid)


def action_error(message: str) -> ActionRejected:
    """The typed error for an action-level ``{"status": "err", "response": message}``."""
    if message.startswith("User or API Wallet") and message.endswith("does not exist."):
        return BadSignature(message, venue_message=message)
    if message.startswith("Invalid nonce"):
        return InvalidNonce(message, venue_message=message)
    if "expired" in message.lower():
        # Wording unconfirmed on the live venue; the emulator says "Action expired: ...".
        return ActionExpired(message, venue_message=message)
    return ActionRejected(message, venue_message=message)
