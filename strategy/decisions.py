"""Decisions are values, never exceptions: what a workflow acts on and records.

Every decision carries a reason code a person can read in the database or the Temporal UI.
``Decision`` is a discriminated union, so it round-trips through Temporal's pydantic data
converter.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from models.domain import Asset, Protocol


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Urgency(StrEnum):
    CRITICAL = "critical"
    """Exit at any price, now."""
    URGENT = "urgent"
    """Exit now with market orders, within the exit slippage limit."""
    NORMAL = "normal"
    """Exit when convenient; passive (maker) orders allowed."""


class ExitReason(StrEnum):
    # risk exits, urgent or critical
    HEALTH_CRITICAL = "health_critical"
    HEALTH_EMERGENCY = "health_emergency"
    MARGIN_CRITICAL = "margin_critical"
    MARGIN_EMERGENCY = "margin_emergency"
    LIQUIDATION_PROXIMITY = "liquidation_proximity"
    LST_DEPEG = "lst_depeg"
    # carry exits, normal (after patience)
    FUNDING_FLIP = "funding_flip"
    CARRY_BELOW_THRESHOLD = "carry_below_threshold"
    # set by the backtester when a venue liquidates a leg (the rules failed to prevent it) or a
    # rebalance cannot keep a position of one lot
    LIQUIDATED = "liquidated"
    REBALANCE_FAILED = "rebalance_failed"
    END_OF_DATA = "end_of_data"


class RebalanceReason(StrEnum):
    HEALTH_BELOW_MIN = "health_below_min"
    MARGIN_BELOW_REBALANCE = "margin_below_rebalance"
    DELTA_DRIFT = "delta_drift"


class DenyReason(StrEnum):
    INTENT_EXPIRED = "intent_expired"
    EMERGENCY_STOP = "emergency_stop"
    PAUSED = "paused"
    CIRCUIT_BREAKER = "circuit_breaker"
    VENUE_OUTAGE = "venue_outage"
    LEVERAGE_OUT_OF_RANGE = "leverage_out_of_range"
    QUOTE_MISSING = "quote_missing"
    QUOTE_STALE = "quote_stale"
    QUOTE_INVALID = "quote_invalid"
    PRICE_DEVIATION = "price_deviation"
    INSUFFICIENT_HISTORY = "insufficient_history"
    FUNDING_STALE = "funding_stale"
    FUNDING_NOT_POSITIVE = "funding_not_positive"
    PREDICTED_FUNDING_NOT_POSITIVE = "predicted_funding_not_positive"
    FUNDING_TOO_VOLATILE = "funding_too_volatile"
    FUNDING_BELOW_MIN = "funding_below_min"
    NET_APY_BELOW_MIN = "net_apy_below_min"
    LST_DEPEG = "lst_depeg"
    PRICE_ABOVE_MAX = "price_above_max"
    NO_PROTOCOL = "no_protocol"
    HEALTH_BELOW_MIN_AT_ENTRY = "health_below_min_at_entry"
    BORROW_CAPACITY = "borrow_capacity"
    SIZE_BELOW_MIN = "size_below_min"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    EXPOSURE_LIMIT = "exposure_limit"
    INVALID_INPUT = "invalid_input"


class SignalLevel(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


class SignalCode(StrEnum):
    HEALTH_LOW = "health_low"
    MARGIN_LOW = "margin_low"
    LIQUIDATION_PROXIMITY = "liquidation_proximity"
    LST_PREMIUM = "lst_premium"
    LST_DISCOUNT = "lst_discount"
    DELTA_DRIFT = "delta_drift"
    FUNDING_ADVERSE = "funding_adverse"
    CARRY_LOW = "carry_low"
    VENUE_OUTAGE = "venue_outage"
    PRICE_UNRELIABLE = "price_unreliable"
    OBSERVATION_STALE = "observation_stale"


class Signal(_Value):
    """An observation worth recording (and alerting on) whatever the decision."""

    code: SignalCode
    level: SignalLevel
    value: Decimal | None = None
    threshold: Decimal | None = None


class Hold(_Value):
    kind: Literal["hold"] = "hold"
    alerts: tuple[Signal, ...] = ()


class Exit(_Value):
    kind: Literal["exit"] = "exit"
    reason: ExitReason
    urgency: Urgency
    max_slippage_bps: int | None
    """``None``: any price (critical)."""

    @property
    def passive_ok(self) -> bool:
        """Non-urgent exits may rest passive (maker) orders."""
        return self.urgency is Urgency.NORMAL


class Rebalance(_Value):
    kind: Literal["rebalance"] = "rebalance"
    reason: RebalanceReason
    transfer_usd: Decimal
    """USDC to move from Hyperliquid to Asgard to equalise the two margins (negative: the
    other way)."""
    target_short_size: Decimal
    """Short size (SOL, on the venue's lot) that re-matches the long's SOL exposure."""


class Denied(_Value):
    kind: Literal["denied"] = "denied"
    reason: DenyReason
    detail: str = ""


class Enter(_Value):
    kind: Literal["enter"] = "enter"
    asset: Asset
    protocol: Protocol
    leverage: Decimal
    net_apy: Decimal
    """Expected net APY on capital after amortised costs."""
    long_deposit: Decimal
    """Collateral to deposit on Asgard, in tokens of ``asset``."""
    long_size: Decimal
    """Collateral held after leverage, in tokens (deposit x leverage)."""
    short_size: Decimal
    """Hyperliquid SOL short, on its lot."""
    margin_per_leg_usd: Decimal
    hyperliquid_leverage: int
    """The venue's integer leverage setting; extra isolated margin brings it to ``leverage``."""
    expected_asset_price_usd: Decimal
    expected_perp_price: Decimal
    """Prices the fills are validated against."""
    max_slippage_bps: int


Decision = Annotated[Enter | Hold | Rebalance | Exit | Denied, Field(discriminator="kind")]
EntryDecision = Annotated[Enter | Denied, Field(discriminator="kind")]
PositionDecision = Annotated[Hold | Rebalance | Exit, Field(discriminator="kind")]

HOLD = Hold()
"""The decision with nothing to say (shared: decisions are immutable)."""
