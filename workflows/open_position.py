"""OpenPositionWorkflow: the two-leg open as a saga.

preflight -> set Hyperliquid leverage -> open the Asgard long -> hedge with a Hyperliquid short
sized to the long that actually filled -> validate delta -> record. Any failure after the long
may exist compensates: any partial short is bought back and the long is closed, so no leg
stands naked longer than ``max_single_leg_exposure_seconds``. If even the unwind cannot
complete, the position is halted for an operator with the reason on a search attribute.
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
        EngineConfig,
        HedgeRequest,
        LegFill,
        OpenLongRequest,
        OpenPlan,
        OpenPositionInput,
        OpenPositionResult,
        Preflight,
        StepProgress,
    )
    from strategy.fills import delta_drift
    from strategy.lots import round_nearest
    from workflows import calls, legs, policies
    from workflows.reconcile import reconcile_account

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
        order_ref=fills[0].order_ref,
        reduces=fills[0].reduces,
        venue_ref=fills[0].venue_ref,
        fill_ids=[i for f in fills for i in f.fill_ids],
        filled_at=fills[-1].filled_at,
    )


@workflow.defn(name="OpenPositionWorkflow")
class OpenPositionWorkflow:
    def __init__(self) -> None:
        self._cfg = EngineConfig()
        self._pid: UUID | None = None
        self._step = "starting"
        self._detail: str | None = None
        self._updated: datetime | None = None

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

        self._at("reconciling")
        report = await reconcile_account(
            cfg, inp.user_id, exclude=inp.position_id, context="before open"
        )
        if not report.consistent:
            # Never trade on an account the database does not describe.
            details = "; ".join(m.detail for m in report.mismatches)
            return await self._fail(inp, f"reconciliation: {details}", long=None)

        self._at("preflight")
        pre = await self._venue(calls.PREFLIGHT_OPEN, inp, result_type=Preflight)
        if not pre.approved or pre.plan is None:
            return await self._fail(inp, f"preflight: {pre.reason}", long=None)
        plan = pre.plan

        self._at("set_leverage")
        try:
            # The position id lets the activity check the leverage against the database; only
            # the activity's input changes, which replay does not compare.
            await self._venue(
                calls.SET_LEVERAGE,
                inp.user_id,
                inp.leverage,
                inp.position_id,
                result_type=type(None),
            )
        except ActivityError as err:
            return await self._fail(inp, f"set leverage: {legs.cause(err)}", long=None)

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
            # The long may exist although its activity failed (a submission can land after
            # the call gave up): closing by position key is a no-op when nothing opened.
            return await self._unwind(inp, f"open long: {legs.cause(err)}", shorts=[])
        exposed_since = workflow.now()
        await self._db(calls.RECORD_LEG_FILLS, inp.position_id, [long])

        # Hedge the SOL the long is actually exposed to: tokens filled x the asset's SOL price.
        ratio = plan.asset_price_usd / plan.sol_price_usd
        target = round_nearest(long.size * ratio, legs.lot(cfg))
        shorts, refusal = await self._hedge(inp, plan, target, exposed_since)
        hedged = sum((f.size for f in shorts), Decimal(0))
        if hedged < target - legs.lot(cfg):
            why = refusal or f"exposure budget spent with {hedged} of {target} SOL hedged"
            return await self._unwind(
                inp, f"hedge incomplete: {why}", shorts=shorts, long=long, since=exposed_since
            )
        short = merge_fills(shorts)
        unhedged = (workflow.now() - exposed_since).total_seconds()

        self._at("validating_delta")
        drift = delta_drift(long.size * ratio, short.size)
        if drift > cfg.delta_drift_critical:
            return await self._unwind(
                inp,
                f"delta drift {drift:.4%} above {cfg.delta_drift_critical:.2%}",
                shorts=shorts,
                long=long,
                since=exposed_since,
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

    async def _hedge(
        self, inp: OpenPositionInput, plan: OpenPlan, target: Decimal, exposed_since: datetime
    ) -> tuple[list[LegFill], str | None]:
        """Sell SOL-PERP until the long is hedged or the exposure budget runs out. Each attempt
        has its own client order id; a partial fill leaves the rest to the next attempt.
        Returns the fills and, if the venue refused outright, why."""
        cfg = self._cfg
        deadline = (
            exposed_since
            + timedelta(seconds=cfg.max_single_leg_exposure_seconds)
            - timedelta(seconds=cfg.unwind_budget_seconds)
        )
        fills: list[LegFill] = []
        for attempt in range(1, legs.MAX_ATTEMPTS + 1):
            remaining = target - sum((f.size for f in fills), Decimal(0))
            left = deadline - workflow.now()
            if remaining < legs.lot(cfg) or left <= timedelta(0):
                break
            self._at("hedging", f"attempt {attempt}: {remaining} SOL left")
            try:
                fill = await legs.place_hedge(
                    cfg,
                    HedgeRequest(
                        position_id=inp.position_id,
                        user_id=inp.user_id,
                        size=remaining,
                        reference_price=plan.sol_price_usd,
                        max_slippage_bps=cfg.entry_slippage_bps,
                        attempt=attempt,
                    ),
                    budget=left,
                )
            except ActivityError as err:
                return fills, legs.cause(err)
            if fill.size > 0:
                fills.append(fill)
                await self._db(calls.RECORD_LEG_FILLS, inp.position_id, [fill])
        return fills, None

    async def _unwind(
        self,
        inp: OpenPositionInput,
        reason: str,
        *,
        shorts: list[LegFill],
        long: LegFill | None = None,
        since: datetime | None = None,
    ) -> OpenPositionResult:
        """Close whatever was opened: the partial short first (reduce-only), then the long."""
        self._at("unwinding", reason)
        cfg = self._cfg

        async def record(fill: LegFill) -> None:
            await self._db(calls.RECORD_LEG_FILLS, inp.position_id, [fill])

        try:
            hedged = sum((f.size for f in shorts), Decimal(0))
            if hedged > 0:
                await legs.buy_back_short(
                    cfg,
                    inp.position_id,
                    inp.user_id,
                    hedged,
                    record,
                    slippage_bps=cfg.exit_slippage_bps,
                )
            closed = await legs.close_long(cfg, inp.position_id, inp.user_id, inp.asset)
        except (ActivityError, ApplicationError) as err:
            return await self._halt(inp, f"unwind failed after '{reason}': {legs.cause(err)}", long)
        if closed.fill is not None:
            await record(closed.fill)
        result = await self._fail(inp, reason, long=long)
        if since is not None:
            result = result.model_copy(
                update={"unhedged_seconds": (workflow.now() - since).total_seconds()}
            )
        return result

    async def _halt(
        self, inp: OpenPositionInput, reason: str, long: LegFill | None
    ) -> OpenPositionResult:
        self._at("halted", reason)
        await self._db(calls.HALT_POSITION, inp.position_id, reason)
        workflow.upsert_search_attributes([search.HALT_REASON.value_set(reason[:250])])
        return OpenPositionResult(
            position_id=inp.position_id, status=PositionStatus.HALTED, reason=reason, long=long
        )

    async def _fail(
        self, inp: OpenPositionInput, reason: str, *, long: LegFill | None
    ) -> OpenPositionResult:
        self._at("failed", reason)
        await self._db(calls.RECORD_POSITION_FAILED, inp.position_id, reason)
        return OpenPositionResult(
            position_id=inp.position_id, status=PositionStatus.FAILED, reason=reason, long=long
        )

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
            heartbeat=policies.VENUE_HEARTBEAT,
            timeout=policies.VENUE_CALL_TIMEOUT,
            schedule_to_close=timedelta(minutes=2),
            retry=policies.VENUE,
        )
