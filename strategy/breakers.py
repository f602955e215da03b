"""Circuit breakers and the entry gate (the seed's pause controller, as pure logic).

Repeated failures (opens that had to be unwound, rejected orders) or realised losses within a
window pause *new entries*; open positions stay monitored. The breaker's memory is a small
immutable value the caller keeps (a workflow's state or a database row) and passes back in:
each ``record_*`` returns a new state pruned to the window, so it never grows without bound.
The scope (one user or everyone) is the caller's choice of which state to keep.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from models.risk import RiskParams
from strategy.decisions import Denied, DenyReason
from strategy.units import ZERO


class LossEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    loss_usd: Decimal
    """Positive amount lost."""


class BreakerState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    failures: tuple[datetime, ...] = ()
    losses: tuple[LossEvent, ...] = ()


class BreakerStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tripped: bool
    failures_in_window: int
    loss_in_window_usd: Decimal
    detail: str = ""


def _prune(state: BreakerState, now: datetime, params: RiskParams) -> BreakerState:
    cb = params.circuit_breaker
    f_from = now - timedelta(seconds=cb.failure_window_seconds)
    l_from = now - timedelta(seconds=cb.loss_window_seconds)
    return BreakerState(
        failures=tuple(t for t in state.failures if t > f_from),
        losses=tuple(e for e in state.losses if e.at > l_from),
    )


def record_failure(state: BreakerState, at: datetime, params: RiskParams) -> BreakerState:
    pruned = _prune(state, at, params)
    return pruned.model_copy(update={"failures": (*pruned.failures, at)})


def record_result(
    state: BreakerState, at: datetime, pnl_usd: Decimal, params: RiskParams
) -> BreakerState:
    """Record a realised result; only losses count (gains do not offset them)."""
    pruned = _prune(state, at, params)
    if pnl_usd >= 0:
        return pruned
    event = LossEvent(at=at, loss_usd=-pnl_usd)
    return pruned.model_copy(update={"losses": (*pruned.losses, event)})


def breaker_status(state: BreakerState, now: datetime, params: RiskParams) -> BreakerStatus:
    cb = params.circuit_breaker
    live = _prune(state, now, params)
    failures = len(live.failures)
    loss = sum((e.loss_usd for e in live.losses), ZERO)
    detail = ""
    if failures >= cb.max_failures:
        detail = f"{failures} failures within {cb.failure_window_seconds}s"
    elif loss >= cb.max_loss_usd:
        detail = f"{loss:.2f} USD lost within {cb.loss_window_seconds}s"
    return BreakerStatus(
        tripped=bool(detail), failures_in_window=failures, loss_in_window_usd=loss, detail=detail
    )


class EntryGates(BaseModel):
    """Everything outside the market that can stop a new entry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    paused: bool = False
    """Global or the user's pause (``ControlState``)."""
    emergency_stop: bool = False
    breaker: BreakerStatus | None = None


def gate_entry(gates: EntryGates) -> Denied | None:
    """The pause controller: an emergency stop, a pause or a tripped breaker refuse entries.
    None of them closes anything."""
    if gates.emergency_stop:
        return Denied(reason=DenyReason.EMERGENCY_STOP)
    if gates.paused:
        return Denied(reason=DenyReason.PAUSED)
    if gates.breaker is not None and gates.breaker.tripped:
        return Denied(reason=DenyReason.CIRCUIT_BREAKER, detail=gates.breaker.detail)
    return None
