"""Leg operations shared by the open and close workflows (run in workflow context)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.domain import Asset
    from models.messages import (
        CloseLongRequest,
        EngineConfig,
        HedgeFillQuery,
        HedgeRequest,
        LegFill,
        LongClose,
        ShortState,
    )
    from strategy.lots import round_down
    from workflows import calls, policies

MAX_ATTEMPTS = 20
# Buy-backs use their own range of attempt numbers so their client order ids never collide
# with the opening sells of the same position.
REDUCE_ATTEMPT_BASE = 1000

OnFill = Callable[[LegFill], Awaitable[None]]


def lot(cfg: EngineConfig) -> Decimal:
    return Decimal(1).scaleb(-cfg.perp_size_decimals)


def cause(err: BaseException) -> str:
    """The innermost message of an activity failure, for reasons humans read."""
    while err.__cause__ is not None:
        err = err.__cause__
    return str(err) or type(err).__name__


def non_retryable(err: ActivityError) -> bool:
    c = err.__cause__
    return isinstance(c, ApplicationError) and c.non_retryable


async def place_hedge(
    cfg: EngineConfig, req: HedgeRequest, *, budget: timedelta, retry_unwind: bool = False
) -> LegFill:
    """One hedge order (IOC). If its activity fails without an answer, ask the venue what that
    client order id filled before moving on, so a fill whose response was lost is counted."""
    try:
        return await calls.run(
            calls.PLACE_HEDGE,
            req,
            result_type=LegFill,
            queue=cfg.venue_queue,
            heartbeat=policies.VENUE_HEARTBEAT,
            timeout=policies.VENUE_CALL_TIMEOUT,
            schedule_to_close=max(budget, timedelta(seconds=1)),
            retry=policies.UNWIND if retry_unwind else policies.VENUE,
        )
    except ActivityError as err:
        if non_retryable(err):
            raise
        return await calls.run(
            calls.HEDGE_FILL,
            HedgeFillQuery(
                position_id=req.position_id,
                user_id=req.user_id,
                attempt=req.attempt,
                reduce_only=req.reduce_only,
            ),
            result_type=LegFill,
            queue=cfg.venue_queue,
            heartbeat=policies.VENUE_HEARTBEAT,
            timeout=policies.VENUE_CALL_TIMEOUT,
            schedule_to_close=timedelta(minutes=5),
            retry=policies.UNWIND,
        )


async def buy_back_short(
    cfg: EngineConfig,
    position_id: UUID,
    user_id: UUID,
    size: Decimal,
    on_fill: OnFill,
    *,
    slippage_bps: int,
) -> Decimal:
    """Buy back ``size`` SOL reduce-only until none is left. Returns what was bought.

    Raises when the venue holds less short than the database says: a difference is never
    treated as flat; the caller halts the position for an operator."""
    remaining = size
    bought = Decimal(0)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        if round_down(remaining, lot(cfg)) < lot(cfg):
            return bought
        state = await calls.run(
            calls.SHORT_STATE,
            user_id,
            result_type=ShortState,
            queue=cfg.venue_queue,
            heartbeat=policies.VENUE_HEARTBEAT,
            timeout=policies.VENUE_CALL_TIMEOUT,
            schedule_to_close=timedelta(minutes=2),
            retry=policies.UNWIND,
        )
        held = -state.size if state.size < 0 else Decimal(0)
        if held + lot(cfg) / 2 < remaining:
            raise ApplicationError(
                f"Hyperliquid holds {held} SOL short, the database expects {remaining}",
                type="VenueMismatch",
                non_retryable=True,
            )
        qty = round_down(remaining, lot(cfg))
        fill = await place_hedge(
            cfg,
            HedgeRequest(
                position_id=position_id,
                user_id=user_id,
                size=qty,
                reference_price=Decimal(0),
                max_slippage_bps=slippage_bps,
                attempt=REDUCE_ATTEMPT_BASE + attempt,
                reduce_only=True,
            ),
            budget=timedelta(minutes=2),
            retry_unwind=True,
        )
        if fill.size > 0:
            await on_fill(fill)
            remaining -= fill.size
            bought += fill.size
    raise ApplicationError(
        f"short of {size} SOL not closed after {MAX_ATTEMPTS} attempts", type="CloseIncomplete"
    )


async def close_long(
    cfg: EngineConfig, position_id: UUID, user_id: UUID, asset: Asset
) -> LongClose:
    """Close the Asgard long keyed by the position; a no-op when nothing is open."""
    return await calls.run(
        calls.CLOSE_LONG,
        CloseLongRequest(
            position_id=position_id,
            user_id=user_id,
            asset=asset,
            max_slippage_bps=cfg.exit_slippage_bps,
        ),
        result_type=LongClose,
        queue=cfg.venue_queue,
        timeout=policies.LONG_LEG_TIMEOUT,
        heartbeat=policies.LONG_LEG_HEARTBEAT,
        schedule_to_close=policies.LONG_LEG_TIMEOUT * 3,
        retry=policies.UNWIND,
    )
