"""Workflow and activity inputs and results. Small, typed, and free of secrets: everything
here is written into Temporal history. Add fields with defaults so running workflows keep
replaying."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.domain import (
    GLOBAL_SCOPE,
    Asset,
    IntentStatus,
    LegSide,
    PositionStatus,
    Protocol,
    Venue,
)

_USER_SCOPE = re.compile(r"^user:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


def check_scope(scope: str) -> str:
    if scope != GLOBAL_SCOPE and not _USER_SCOPE.match(scope):
        raise ValueError(f"scope must be '{GLOBAL_SCOPE}' or 'user:<uuid>', got {scope!r}")
    return scope


class ControlChange(Message):
    """Pause or resume new entries for everyone (``global``) or one user (``user:<id>``)."""

    scope: str
    paused: bool
    emergency_stop: bool = False
    reason: str | None = Field(default=None, max_length=500)
    actor: str = Field(min_length=1, max_length=128)
    change_id: str | None = None
    """Assigned by the control workflow; makes the database write idempotent under retries."""
    correlation_id: str | None = None

    _scope = field_validator("scope")(check_scope)


class ControlStateView(Message):
    scope: str
    paused: bool
    emergency_stop: bool
    reason: str | None
    updated_by: str
    updated_at: datetime


class ControlWorkflowInput(Message):
    """Carried across continue-as-new so the workflow does not start from nothing."""

    states: dict[str, ControlStateView] = Field(default_factory=dict)


# ---- trading ------------------------------------------------------------------------------


class EngineConfig(Message):
    """The settings a workflow needs, passed in (a workflow cannot read configuration)."""

    engine_queue: str = "basis-engine"
    venue_queue: str = "basis-venues"
    max_single_leg_exposure_seconds: int = 120
    unwind_budget_seconds: int = 45
    """Part of the exposure budget kept to unwind a naked long."""
    entry_slippage_bps: int = 50
    exit_slippage_bps: int = 100
    delta_drift_warning: Decimal = Decimal("0.005")
    delta_drift_critical: Decimal = Decimal("0.02")
    perp_size_decimals: int = 2
    intent_scan_interval_seconds: int = 60
    monitor_interval_seconds: int = 30


class IntentCriteria(Message):
    """When an intent may open. Every set criterion must hold; unset ones are ignored."""

    min_net_apy: Decimal | None = None
    """Net carry on capital, decimal per year (0.12 = 12%)."""
    min_funding_rate: Decimal | None = None
    """Hyperliquid hourly funding (positive = shorts earn)."""
    max_funding_volatility: Decimal | None = None
    """Annualised volatility of the hourly funding over the lookback."""
    max_entry_price: Decimal | None = None
    """Highest acceptable price of the long asset, USD."""


class IntentCarry(Message):
    """Intent workflow state carried across continue-as-new."""

    attempts: int = 0
    last_check: str | None = None
    last_check_at: datetime | None = None


class IntentInput(Message):
    intent_id: UUID
    user_id: UUID
    asset: Asset
    leverage: Decimal
    capital_usd: Decimal
    criteria: IntentCriteria = IntentCriteria()
    expires_at: datetime | None = None
    execute_immediately: bool = False
    config: EngineConfig = EngineConfig()
    carry: IntentCarry = IntentCarry()


class IntentProgress(Message):
    """What the intent workflow answers to a query; also written to the database."""

    intent_id: UUID
    status: IntentStatus
    position_id: UUID | None = None
    last_check_at: datetime | None = None
    last_check: str | None = None
    """Why the criteria did or did not hold at the last check (reason code)."""
    failure_reason: str | None = None


class IntentCheck(Message):
    """Outcome of evaluating an intent against a fresh market snapshot."""

    met: bool
    reason: str
    net_apy: Decimal | None = None


class IntentStatusChange(Message):
    intent_id: UUID
    status: IntentStatus
    position_id: UUID | None = None
    failure_reason: str | None = None
    last_check: str | None = None
    user_id: UUID | None = None
    """Whose intent the workflow believes it runs: the database must agree."""


class EntryGate(Message):
    """Whether new entries are allowed now for a user (pause, emergency stop, kill switch,
    circuit breaker)."""

    allowed: bool
    reason: str | None = None


class OpenPositionInput(Message):
    position_id: UUID
    user_id: UUID
    asset: Asset
    leverage: Decimal
    capital_usd: Decimal
    intent_id: UUID | None = None
    config: EngineConfig = EngineConfig()


class OpenPlan(Message):
    """What preflight decided to open: sizes already rounded to each venue's lot rules."""

    protocol: Protocol
    long_collateral: Decimal
    """USDC posted as the long's margin."""
    long_size: Decimal
    """Total long exposure in units of the asset (collateral x leverage)."""
    short_size: Decimal
    """Hyperliquid SOL-PERP size that hedges ``long_size`` at current prices."""
    asset_price_usd: Decimal
    sol_price_usd: Decimal
    expected_net_apy: Decimal | None = None
    hyperliquid_leverage: int = 3
    """Integer leverage set on Hyperliquid (isolated)."""


class Preflight(Message):
    approved: bool
    reason: str | None = None
    plan: OpenPlan | None = None


class LegFill(Message):
    """A venue's report of an opened or closed leg (or part of one)."""

    venue: Venue
    side: LegSide
    size: Decimal
    """Long: units of the asset. Short: SOL."""
    avg_price: Decimal
    notional_usd: Decimal
    fee_usd: Decimal = Decimal(0)
    order_ref: str
    """Idempotency key of the order behind the fill: Hyperliquid cloid, or the Solana
    transaction signature. Recording the same fill twice is a no-op."""
    reduces: bool = False
    """True for a fill that closes (part of) the leg."""
    venue_ref: str | None = None
    """Asgard position PDA, or the Hyperliquid account address."""
    fill_ids: list[str] = []
    """Hyperliquid trade ids, or Solana transaction signatures."""
    filled_at: datetime
    protocol: Protocol | None = None
    """Asgard lending protocol of a long fill."""
    details: dict[str, Decimal] = {}
    """Venue figures a settlement needs later (Asgard: collateral posted, tokens, debt, the
    token's SOL rate), kept on the leg."""


class OpenLongRequest(Message):
    position_id: UUID
    user_id: UUID
    asset: Asset
    protocol: Protocol
    collateral: Decimal
    leverage: Decimal
    max_slippage_bps: int


class HedgeRequest(Message):
    """Sell (open) or buy back (close, reduce-only) SOL-PERP. ``attempt`` is part of the client
    order id: the same attempt retried finds its earlier order instead of placing another."""

    position_id: UUID
    user_id: UUID
    size: Decimal
    reference_price: Decimal
    max_slippage_bps: int
    attempt: int
    reduce_only: bool = False


class CloseLongRequest(Message):
    position_id: UUID
    user_id: UUID
    asset: Asset
    max_slippage_bps: int


class LongClose(Message):
    closed: bool
    """False when there was nothing to close (never opened, or already closed)."""
    fill: LegFill | None = None
    proceeds_usd: Decimal = Decimal(0)


class ShortState(Message):
    """The user's Hyperliquid SOL position as the venue reports it (negative = short)."""

    size: Decimal
    entry_price: Decimal | None = None
    liquidation_price: Decimal | None = None


class OpenPositionResult(Message):
    position_id: UUID
    status: PositionStatus
    reason: str | None = None
    long: LegFill | None = None
    short: LegFill | None = None
    unhedged_seconds: float | None = None
    """How long the long leg stood without its full hedge (measured, not guessed)."""


class ClosePositionInput(Message):
    position_id: UUID
    user_id: UUID
    reason: str
    urgent: bool = False
    requested_by: str = "system"
    config: EngineConfig = EngineConfig()


class HedgeFillQuery(Message):
    """Look up what one hedge attempt (one client order id) filled, after its activity failed
    without an answer: the order may have filled although no response came back."""

    position_id: UUID
    user_id: UUID
    attempt: int
    reduce_only: bool = False


class CloseStart(Message):
    """The position as the close found it."""

    status: PositionStatus
    asset: Asset
    short_size: Decimal
    """SOL the position is short on Hyperliquid, per the database."""


class PnlSplit(Message):
    """Realised PnL by source; the parts sum to ``total``."""

    funding: Decimal
    staking: Decimal
    lending: Decimal
    borrow: Decimal
    price: Decimal
    fees: Decimal
    total: Decimal


class CloseSettlement(Message):
    exit_price: Decimal | None
    pnl: PnlSplit


class ClosePositionResult(Message):
    position_id: UUID
    status: PositionStatus
    reason: str | None = None
    pnl: PnlSplit | None = None
    already_closed: bool = False


class StepProgress(Message):
    """The step an open or close has reached, for the API's status endpoint."""

    workflow: str
    position_id: UUID | None
    step: str
    detail: str | None = None
    updated_at: datetime | None = None


# ---- cycles ------------------------------------------------------------------------------------


class ScanReport(Message):
    """One intent-scan cycle."""

    evaluated: int
    woken: int
    skipped: dict[str, int] = {}
    """Pending intents not woken, counted by reason code."""
    market_at: datetime | None = None
    duration_ms: float = 0.0


class MonitorRange(Message):
    """A slice of accounts with open positions, by user id (keyset bounds, ``lo`` inclusive,
    ``hi`` exclusive; None = unbounded)."""

    lo: UUID | None = None
    hi: UUID | None = None


class MonitorPlan(Message):
    market_ref: str
    """Key of the market snapshot stored for this cycle (the snapshot itself stays out of
    workflow history)."""
    ranges: list[MonitorRange]
    positions: int


class ExitOrder(Message):
    position_id: UUID
    user_id: UUID
    reason: str
    urgent: bool


class RebalanceOrder(Message):
    """What the monitor asks of a position whose legs drifted apart or whose margin runs low."""

    position_id: UUID
    user_id: UUID
    reason: str
    transfer_usd: Decimal
    """USDC that would move from Hyperliquid to Asgard to equalise the margins (negative:
    the other way)."""
    target_short_size: Decimal
    """Short (SOL) that re-matches the long's exposure."""
    config: EngineConfig = EngineConfig()


class RebalanceResult(Message):
    position_id: UUID
    reason: str
    actions: list[str] = []
    skipped: str | None = None


class MonitorBatchResult(Message):
    evaluated: int
    exits: list[ExitOrder] = []
    rebalances: list[RebalanceOrder] = []
    warnings: int = 0
    errors: int = 0


class MonitorReport(Message):
    positions: int
    evaluated: int
    exits_started: int
    rebalances: int
    errors: int
    duration_ms: float


# ---- reconciliation ----------------------------------------------------------------------------


class ReconcileRequest(Message):
    user_id: UUID
    exclude_position: UUID | None = None
    """The position whose own open or close is asking: its legs are in flight, not lost."""
    context: str = "check"


class Mismatch(Message):
    """One disagreement between the venues and the database."""

    position_id: UUID | None
    """The position it concerns; None for an account-level difference."""
    venue: str
    detail: str


class ReconcileReport(Message):
    user_id: UUID
    consistent: bool
    mismatches: list[Mismatch] = []
    halted: list[UUID] = []
    skipped: str | None = None
    """Why a check was not made (e.g. another open or close of the user is in flight)."""
