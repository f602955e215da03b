"""A scripted two-venue world for workflow tests: activities registered under the real
activity names, with state a test can inspect and behaviour it can script."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.domain import Asset, LegSide, PositionStatus, Protocol, Venue
from models.messages import (
    CloseLongRequest,
    CloseSettlement,
    CloseStart,
    EntryGate,
    HedgeFillQuery,
    HedgeRequest,
    IntentCheck,
    IntentInput,
    IntentStatusChange,
    LegFill,
    LongClose,
    OpenLongRequest,
    OpenPlan,
    OpenPositionInput,
    PnlSplit,
    Preflight,
    RebalanceResult,
    ReconcileReport,
    ReconcileRequest,
    ShortState,
)
from workflows import calls

__all__ = ["FakeWorld", "LegSide", "lost", "partial", "refuse", "unfilled"]

SOL = Decimal("100")


@dataclass
class FakeWorld:
    approve: bool = True
    long_error: ApplicationError | None = None
    close_long_error: ApplicationError | None = None
    hedge_script: list[Callable[[HedgeRequest], LegFill | ApplicationError | LostResponse]] = field(
        default_factory=list
    )
    hedge_price: Decimal = SOL
    # what the venues hold
    long_open: bool = False
    short_size: Decimal = Decimal(0)  # negative = short
    calls: list[str] = field(default_factory=list)
    hedge_attempts: list[int] = field(default_factory=list)
    lost_fills: dict[int, LegFill] = field(default_factory=dict)
    gate_reason: str | None = None
    free_margin: Decimal = Decimal(0)
    reconcile_report: ReconcileReport | None = None
    criteria_met: bool = True
    intent_statuses: list[str] = field(default_factory=list)
    pnl_parts: dict[str, str] = field(
        default_factory=lambda: {
            "funding": "41.10",
            "staking": "0",
            "lending": "12.00",
            "borrow": "-20.50",
            "price": "-3.25",
            "fees": "-14.02",
        }
    )
    """Fills whose response was lost, by attempt: the venue has them, the caller did not hear."""
    ledger: dict[str, Any] = field(default_factory=dict)

    # ---- venue activities -------------------------------------------------------------------

    def activities(self) -> list[Callable[..., Any]]:
        w = self

        @activity.defn(name=calls.PREFLIGHT_OPEN)
        async def preflight(inp: OpenPositionInput) -> Preflight:
            w.calls.append("preflight")
            if not w.approve:
                return Preflight(approved=False, reason="funding_below_threshold")
            collateral = inp.capital_usd / 2 / SOL
            return Preflight(
                approved=True,
                plan=OpenPlan(
                    protocol=Protocol.KAMINO,
                    long_collateral=collateral,
                    long_size=collateral * inp.leverage,
                    short_size=collateral * inp.leverage,
                    asset_price_usd=SOL,
                    sol_price_usd=SOL,
                ),
            )

        @activity.defn(name=calls.SET_LEVERAGE)
        async def set_leverage(
            user_id: uuid.UUID, leverage: int, position_id: uuid.UUID | None = None
        ) -> None:
            w.calls.append("set_leverage")

        @activity.defn(name=calls.OPEN_LONG)
        async def open_long(req: OpenLongRequest) -> LegFill:
            w.calls.append("open_long")
            if w.long_error is not None:
                raise w.long_error
            w.long_open = True
            size = req.collateral * req.leverage
            return LegFill(
                venue=Venue.ASGARD,
                side=LegSide.LONG,
                size=size,
                avg_price=SOL,
                notional_usd=size * SOL,
                order_ref=f"sig-open-{req.position_id}",
                venue_ref="PDA1",
                fill_ids=["sig-open"],
                filled_at=datetime.now(UTC),
            )

        @activity.defn(name=calls.CLOSE_LONG)
        async def close_long(req: CloseLongRequest) -> LongClose:
            w.calls.append("close_long")
            if w.close_long_error is not None:
                raise w.close_long_error
            was_open, w.long_open = w.long_open, False
            return LongClose(closed=was_open)

        @activity.defn(name=calls.PLACE_HEDGE)
        async def place_hedge(req: HedgeRequest) -> LegFill:
            w.calls.append("reduce" if req.reduce_only else "hedge")
            w.hedge_attempts.append(req.attempt)
            if req.reduce_only:
                size = min(req.size, -w.short_size)
                w.short_size += size
                return _fill(size, w.hedge_price, LegSide.SHORT, reduces=True)
            if req.attempt in w.lost_fills:
                # The venue stays unreachable for this order until the caller gives up on it.
                raise ApplicationError("timed out", type="Timeout")
            outcome = w.hedge_script.pop(0)(req) if w.hedge_script else _full(req)
            if isinstance(outcome, LostResponse):
                fill = _full(req)
                w.short_size -= fill.size
                w.lost_fills[req.attempt] = fill
                raise ApplicationError("response lost", type="Timeout")
            if isinstance(outcome, ApplicationError):
                raise outcome
            w.short_size -= outcome.size
            return outcome

        @activity.defn(name=calls.HEDGE_FILL)
        async def hedge_fill(q: HedgeFillQuery) -> LegFill:
            w.calls.append("hedge_fill")
            return w.lost_fills.pop(q.attempt, _fill(Decimal(0), SOL, LegSide.SHORT))

        @activity.defn(name=calls.CHECK_INTENT)
        async def check_intent(inp: IntentInput) -> IntentCheck:
            w.calls.append("check")
            if w.criteria_met:
                return IntentCheck(met=True, reason="criteria_met", net_apy=Decimal("0.15"))
            return IntentCheck(met=False, reason="net_apy_below_minimum")

        @activity.defn(name=calls.RECONCILE_USER)
        async def reconcile_user(req: ReconcileRequest) -> ReconcileReport:
            w.calls.append("reconcile")
            return w.reconcile_report or ReconcileReport(user_id=req.user_id, consistent=True)

        @activity.defn(name=calls.SETTLE_CLOSE)
        async def settle(pid: uuid.UUID, user_id: uuid.UUID, closed: LongClose) -> CloseSettlement:
            w.calls.append("settle")
            parts = {k: Decimal(v) for k, v in w.pnl_parts.items()}
            return CloseSettlement(
                exit_price=SOL, pnl=PnlSplit(**parts, total=sum(parts.values(), Decimal(0)))
            )

        @activity.defn(name=calls.ADD_SHORT_MARGIN)
        async def add_short_margin(
            user_id: uuid.UUID, amount: Decimal, position_id: uuid.UUID | None = None
        ) -> Decimal:
            added = min(amount, w.free_margin)
            w.free_margin -= added
            return added

        @activity.defn(name=calls.ADD_LONG_COLLATERAL)
        async def add_long_collateral(
            pid: uuid.UUID, user_id: uuid.UUID, amount: Decimal, key: str
        ) -> Decimal:
            w.calls.append(f"repay:{key}")
            return amount

        @activity.defn(name=calls.SHORT_STATE)
        async def short_state(user_id: uuid.UUID) -> ShortState:
            return ShortState(size=w.short_size)

        return [
            preflight,
            set_leverage,
            open_long,
            close_long,
            place_hedge,
            hedge_fill,
            short_state,
            settle,
            reconcile_user,
            check_intent,
            add_short_margin,
            add_long_collateral,
        ]

    # ---- ledger activities ------------------------------------------------------------------

    def ledger_activities(self) -> list[Callable[..., Any]]:
        w = self

        @activity.defn(name=calls.CREATE_POSITION)
        async def create_position(inp: OpenPositionInput) -> None:
            w.ledger["status"] = "opening"

        @activity.defn(name=calls.RECORD_LEG_FILLS)
        async def record_leg_fills(pid: uuid.UUID, fills: list[LegFill]) -> None:
            w.ledger.setdefault("fills", []).extend(fills)

        @activity.defn(name=calls.RECORD_POSITION_OPEN)
        async def record_open(pid: uuid.UUID, long: LegFill, short: LegFill) -> None:
            w.ledger["status"] = "open"

        @activity.defn(name=calls.RECORD_POSITION_FAILED)
        async def record_failed(pid: uuid.UUID, reason: str) -> None:
            w.ledger["status"] = "failed"
            w.ledger["reason"] = reason

        @activity.defn(name=calls.HALT_POSITION)
        async def halt(pid: uuid.UUID, reason: str) -> None:
            w.ledger["status"] = "halted"
            w.ledger["reason"] = reason

        @activity.defn(name=calls.BEGIN_CLOSE)
        async def begin_close(
            pid: uuid.UUID, reason: str, by: str, user_id: uuid.UUID | None = None
        ) -> CloseStart:
            status = PositionStatus(w.ledger.get("status", "open"))
            if status is PositionStatus.OPEN:
                status = PositionStatus.CLOSING
                w.ledger["status"] = "closing"
                w.ledger["close_requests"] = w.ledger.get("close_requests", 0) + 1
            db_short = w.ledger.get("short_size", -w.short_size)
            return CloseStart(status=status, asset=Asset.SOL, short_size=db_short)

        @activity.defn(name=calls.RECORD_POSITION_CLOSED)
        async def record_closed(pid: uuid.UUID, settlement: CloseSettlement, reason: str) -> None:
            w.ledger["status"] = "closed"
            w.ledger["pnl"] = settlement.pnl

        @activity.defn(name=calls.ENTRY_GATE)
        async def entry_gate(user_id: uuid.UUID) -> EntryGate:
            return EntryGate(allowed=w.gate_reason is None, reason=w.gate_reason)

        @activity.defn(name=calls.SET_INTENT_STATUS)
        async def set_intent_status(change: IntentStatusChange) -> None:
            w.intent_statuses.append(change.status.value)

        @activity.defn(name=calls.POSITION_STATE)
        async def position_state(pid: uuid.UUID, user_id: uuid.UUID | None = None) -> CloseStart:
            status = PositionStatus(w.ledger.get("status", "open"))
            return CloseStart(status=status, asset=Asset.SOL, short_size=-w.short_size)

        @activity.defn(name=calls.RECORD_REBALANCE)
        async def record_rebalance(result: RebalanceResult) -> None:
            w.ledger.setdefault("rebalances", []).append(result)

        return [
            position_state,
            record_rebalance,
            entry_gate,
            set_intent_status,
            create_position,
            record_leg_fills,
            record_open,
            record_failed,
            halt,
            begin_close,
            record_closed,
        ]


def _fill(size: Decimal, price: Decimal, side: LegSide, *, reduces: bool = False) -> LegFill:
    return LegFill(
        order_ref=uuid.uuid4().hex,
        reduces=reduces,
        venue=Venue.HYPERLIQUID,
        side=side,
        size=size,
        avg_price=price,
        notional_usd=size * price,
        fee_usd=size * price * Decimal("0.00045"),
        fill_ids=[uuid.uuid4().hex],
        filled_at=datetime.now(UTC),
    )


def _full(req: HedgeRequest) -> LegFill:
    return _fill(req.size, SOL, LegSide.SHORT)


def partial(fraction: str) -> Callable[[HedgeRequest], LegFill]:
    def fill(req: HedgeRequest) -> LegFill:
        return _fill((req.size * Decimal(fraction)).quantize(Decimal("0.01")), SOL, LegSide.SHORT)

    return fill


def unfilled(req: HedgeRequest) -> LegFill:
    return _fill(Decimal(0), SOL, LegSide.SHORT)


def refuse(kind: str) -> Callable[[HedgeRequest], ApplicationError]:
    def err(req: HedgeRequest) -> ApplicationError:
        return ApplicationError(f"{kind} refused", type=kind, non_retryable=True)

    return err


class LostResponse:
    """Script step: the order fills on the venue but the response never arrives."""


def lost(req: HedgeRequest) -> LostResponse:
    return LostResponse()
