"""OpenPositionWorkflow: the two-leg open as a saga.

preflight -> set Hyperliquid leverage -> open the Asgard long -> hedge with a Hyperliquid short
sized to the long that actually filled -> validate delta -> record. Any failure after the long
exists compensates: the long (and any partial short) is unwound, so no leg stands naked longer
than ``max_single_leg_exposure_seconds``. If even the unwind cannot complete, the position is
halted for an operator with the reason on a search attribute.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar
from uuid import UUID

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from models import search
    from models.domain import PositionStatus
    from models.messages import (
        CloseLongRequest,
        EngineConfig,
        HedgeRequest,
        LegFill,
        LongClose,
        OpenLongRequest,
        OpenPlan,
        OpenPositionInput,
        OpenPositionResult,
        Preflight,
        ShortState,
        StepProgress,
    )
    from strategy.hedge import delta_drift, hedge_size, round_to_lot
    from workflows import calls, policies

MAX_HEDGE_ATTEMPTS = 20
T = TypeVar("T")


def merge_fills(fills: list[LegFill]) -> LegFill:
    """One fill for a leg from its parts: sizes add, the price is notional-weighted."""
    size = sum((f.size for f in fills), Decimal(0))
    notional = sum((f.notional_usd for f in fills), Decimal(0))
    return LegFill(
        venue=fills[0].venue,
        side=fills[0].side,
        size=size,
        avg_price=(notional / size) if size else Decimal(0),
        notional_usd=notional,
        fee_usd=sum((f.fee_usd for f in fills), Decimal(0)),
        venue_ref=fills[0].venue_ref,
        fill_ids=[i for f in fills for i in f.fill_ids],
        filled_at=fills[-1].filled_at,
    )


@workflow.defn(name="OpenPositionWorkflow")
class OpenPositionWorkflow:
    def __init__(self) -> None:
        self._cfg = EngineConfig()
        self._step = "starting"
        self._detail: str | None = None
        self._updated: datetime | None = None
        self._pid: UUID | None = None

    @workflow.query
    def progress(self) -> StepProgress:
        return StepProgress(
            workflow="open",
            position_id=self._pid,
            step=self._step,
            detail=self._detail,
            updated_at=self._updated,
        )

    def _at(self, step: str, detail: str | None = None) -> None:
        self._step, self._detail, self._updated = step, detail, workflow.now()
        workflow.upsert_search_attributes([search.STATUS.value_set(f"open:{step}")])

    @workflow.run
    async def run(self, inp: OpenPositionInput) -> OpenPositionResult:
        self._pid = inp.position_id
        self._cfg = cfg = inp.config
        workflow.upsert_search_attributes(
            [
                search.USER_ID.value_set(str(inp.user_id)),
                search.POSITION_ID.value_set(str(inp.position_id)),
                search.ASSET.value_set(inp.asset.value),
            ]
        )
        self._at("recording")
        await self._db(calls.CREATE_POSITION, inp)

        self._at("preflight")
        pre = await self._venue(calls.PREFLIGHT_OPEN, inp, result_type=Preflight)
        if not pre.approved or pre.plan is None:
            return await self._fail(inp, f"preflight: {pre.reason}", long=None)
        plan = pre.plan

        self._at("set_leverage")
        try:
            await self._venue(calls.SET_LEVERAGE, inp.user_id, inp.leverage, result_type=type(None))
        except ActivityError as err:
            return await self._fail(inp, f"set leverage: {_cause(err)}", long=None)

        self._at("opening_long", f"{plan.long_size} {inp.asset.value} on {plan.protocol.label}")
        try:
            long = await calls.run(
                calls.OPEN_LONG,
                OpenLongRequest(
                    position_id=inp.position_id,
                    user_id=inp.user_id,
                    asset=inp.asset,
                    protocol=plan.protocol,
                    collateral=plan.long_collateral,
                    leverage=inp.leverage,
                    max_slippage_bps=cfg.entry_slippage_bps,
                ),
                result_type=LegFill,
                queue=cfg.venue_queue,
                timeout=policies.LONG_LEG_TIMEOUT,
                heartbeat=policies.LONG_LEG_HEARTBEAT,
                schedule_to_close=policies.LONG_LEG_TIMEOUT * 2,
                retry=policies.VENUE,
            )
        except ActivityError as err:
            # The long may or may not exist (a submission can land after its activity failed):
            # closing by position key is a no-op when nothing opened, so always make sure.
            return await self._unwind(inp, cfg, f"open long: {_cause(err)}", shorts=[])
        exposed_since = workflow.now()
        await self._db(calls.RECORD_LEG_FILLS, inp.position_id, [long])

        shorts = await self._hedge(inp, cfg, plan, long, exposed_since)
        hedged = sum((f.size for f in shorts), Decimal(0))
        target = hedge_size(long.notional_usd, plan.sol_price_usd, cfg.perp_size_decimals)
        if hedged < target - _lot(cfg):
            return await self._unwind(
                inp,
                cfg,
                f"hedge incomplete: {hedged} of {target} SOL",
                shorts=shorts,
                long=long,
                exposed_since=exposed_since,
            )
        short = merge_fills(shorts)
        unhedged = (workflow.now() - exposed_since).total_seconds()

        self._at("validating_delta")
        drift = delta_drift(long.notional_usd, short.notional_usd)
        if drift > cfg.delta_drift_critical:
            return await self._unwind(
                inp,
                cfg,
                f"delta drift {drift:.4%} above {cfg.delta_drift_critical:.2%}",
                shorts=shorts,
                long=long,
                exposed_since=exposed_since,
            )

        self._at("recording_open")
        await self._db(calls.RECORD_POSITION_OPEN, inp.position_id, long, short)
        self._at("open", f"delta drift {drift:.4%}")
        return OpenPositionResult(
            position_id=inp.position_id,
            status=PositionStatus.OPEN,
            long=long,
            short=short,
            unhedged_seconds=unhedged,
        )

    # ---- hedge -----------------------------------------------------------------------------

    async def _hedge(
        self,
        inp: OpenPositionInput,
        cfg: EngineConfig,
        plan: OpenPlan,
        long: LegFill,
        exposed_since: datetime,
    ) -> list[LegFill]:
        """Sell SOL-PERP until the long is hedged or the exposure budget runs out. Each attempt
        has its own client order id; a partial fill leaves the rest to the next attempt."""
        target = hedge_size(long.notional_usd, plan.sol_price_usd, cfg.perp_size_decimals)
        deadline = (
            exposed_since
            + timedelta(seconds=cfg.max_single_leg_exposure_seconds)
            - timedelta(seconds=cfg.unwind_budget_seconds)
        )
        fills: list[LegFill] = []
        attempt = 0
        while attempt < MAX_HEDGE_ATTEMPTS:
            remaining = target - sum((f.size for f in fills), Decimal(0))
            left = deadline - workflow.now()
            if remaining < _lot(cfg) or left <= timedelta(0):
                break
            attempt += 1
            self._at("hedging", f"attempt {attempt}: {remaining} SOL left")
            try:
                fill = await calls.run(
                    calls.PLACE_HEDGE,
                    HedgeRequest(
                        position_id=inp.position_id,
                        user_id=inp.user_id,
                        size=remaining,
                        reference_price=plan.sol_price_usd,
                        max_slippage_bps=cfg.entry_slippage_bps,
                        attempt=attempt,
                    ),
                    result_type=LegFill,
                    queue=cfg.venue_queue,
                    timeout=policies.VENUE_CALL_TIMEOUT,
                    schedule_to_close=max(left, timedelta(seconds=1)),
                    retry=policies.VENUE,
                )
            except ActivityError as err:
                if _non_retryable(err):
                    self._detail = f"hedge refused: {_cause(err)}"
                    break
                continue  # timed out against the deadline; the loop re-checks it
            if fill.size > 0:
                fills.append(fill)
                await self._db(calls.RECORD_LEG_FILLS, inp.position_id, [fill])
        return fills

    # ---- compensation ----------------------------------------------------------------------

    async def _unwind(
        self,
        inp: OpenPositionInput,
        cfg: EngineConfig,
        reason: str,
        *,
        shorts: list[LegFill],
        long: LegFill | None = None,
        exposed_since: datetime | None = None,
    ) -> OpenPositionResult:
        """Close whatever was opened: the partial short first (reduce-only), then the long."""
        self._at("unwinding", reason)
        try:
            hedged = sum((f.size for f in shorts), Decimal(0))
            if hedged > 0:
                await self._close_short(inp, cfg, hedged)
            closed = await calls.run(
                calls.CLOSE_LONG,
                CloseLongRequest(
                    position_id=inp.position_id,
                    user_id=inp.user_id,
                    asset=inp.asset,
                    max_slippage_bps=cfg.exit_slippage_bps,
                ),
                result_type=LongClose,
                queue=cfg.venue_queue,
                timeout=policies.LONG_LEG_TIMEOUT,
                heartbeat=policies.LONG_LEG_HEARTBEAT,
                schedule_to_close=policies.LONG_LEG_TIMEOUT * 3,
                retry=policies.UNWIND,
            )
        except ActivityError as err:
            halt = f"unwind failed after '{reason}': {_cause(err)}"
            self._at("halted", halt)
            await self._db(calls.HALT_POSITION, inp.position_id, halt)
            workflow.upsert_search_attributes([search.HALT_REASON.value_set(halt[:250])])
            return OpenPositionResult(
                position_id=inp.position_id, status=PositionStatus.HALTED, reason=halt, long=long
            )
        unhedged = (
            (workflow.now() - exposed_since).total_seconds() if exposed_since is not None else None
        )
        if closed.fill is not None:
            await self._db(calls.RECORD_LEG_FILLS, inp.position_id, [closed.fill])
        result = await self._fail(inp, reason, long=long)
        return result.model_copy(update={"unhedged_seconds": unhedged})

    async def _close_short(self, inp: OpenPositionInput, cfg: EngineConfig, size: Decimal) -> None:
        """Buy back ``size`` SOL reduce-only, attempt after attempt, until nothing is left."""
        remaining = size
        for attempt in range(1, MAX_HEDGE_ATTEMPTS + 1):
            state = await self._venue(calls.SHORT_STATE, inp.user_id, result_type=ShortState)
            # Never buy more than the account is short: reduce-only would refuse it anyway.
            remaining = min(remaining, -state.size) if state.size < 0 else Decimal(0)
            remaining = round_to_lot(remaining, cfg.perp_size_decimals, down=True)
            if remaining < _lot(cfg):
                return
            fill = await calls.run(
                calls.PLACE_HEDGE,
                HedgeRequest(
                    position_id=inp.position_id,
                    user_id=inp.user_id,
                    size=remaining,
                    reference_price=Decimal(0),
                    max_slippage_bps=cfg.exit_slippage_bps,
                    attempt=1000 + attempt,
                    reduce_only=True,
                ),
                result_type=LegFill | None,  # type: ignore[arg-type]
                queue=cfg.venue_queue,
                timeout=policies.VENUE_CALL_TIMEOUT,
                schedule_to_close=timedelta(minutes=2),
                retry=policies.UNWIND,
            )
            if fill.size > 0:
                await self._db(calls.RECORD_LEG_FILLS, inp.position_id, [fill])
                remaining -= fill.size
        raise ApplicationError(f"short of {size} SOL not closed after {MAX_HEDGE_ATTEMPTS} tries")

    async def _fail(
        self, inp: OpenPositionInput, reason: str, *, long: LegFill | None
    ) -> OpenPositionResult:
        self._at("failed", reason)
        await self._db(calls.RECORD_POSITION_FAILED, inp.position_id, reason)
        return OpenPositionResult(
            position_id=inp.position_id, status=PositionStatus.FAILED, reason=reason, long=long
        )

    # ---- plumbing --------------------------------------------------------------------------

    async def _db(self, name: str, *args: object) -> None:
        await calls.run(
            name,
            *args,
            result_type=type(None),
            queue=self._cfg.engine_queue,
            timeout=policies.DB_TIMEOUT,
            retry=policies.DB,
        )

    async def _venue(self, name: str, *args: object, result_type: type[T]) -> T:
        return await calls.run(
            name,
            *args,
            result_type=result_type,
            queue=self._cfg.venue_queue,
            timeout=policies.VENUE_CALL_TIMEOUT,
            schedule_to_close=timedelta(minutes=2),
            retry=policies.VENUE,
        )


def _lot(cfg: EngineConfig) -> Decimal:
    return Decimal(1).scaleb(-cfg.perp_size_decimals)


def _cause(err: BaseException) -> str:
    """The innermost message of an activity failure, for reasons humans read."""
    while err.__cause__ is not None:
        err = err.__cause__
    return str(err) or type(err).__name__


def _non_retryable(err: ActivityError) -> bool:
    cause = err.__cause__
    return isinstance(cause, ApplicationError) and cause.non_retryable
