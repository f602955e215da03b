"""ClosePositionWorkflow: reduce-only close of the Hyperliquid short first, then the Asgard
long; then settle with the venues and record realised PnL by source.

Started with id ``close-{position_id}``: a second close request while one runs joins it, and a
close of a closed position is a clean no-op that answers the earlier outcome.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from models import search
    from models.domain import PositionStatus
    from models.messages import (
        ClosePositionInput,
        ClosePositionResult,
        CloseSettlement,
        CloseStart,
        EngineConfig,
        LegFill,
        StepProgress,
    )
    from workflows import calls, legs, policies
    from workflows.reconcile import reconcile_account


@workflow.defn(name="ClosePositionWorkflow")
class ClosePositionWorkflow:
    def __init__(self) -> None:
        self._cfg = EngineConfig()
        self._pid: UUID | None = None
        self._step = "starting"
        self._detail: str | None = None
        self._updated: datetime | None = None

    @workflow.query
    def progress(self) -> StepProgress:
        return StepProgress(
            workflow="close",
            position_id=self._pid,
            step=self._step,
            detail=self._detail,
            updated_at=self._updated,
        )

    def _at(self, step: str, detail: str | None = None) -> None:
        self._step, self._detail, self._updated = step, detail, workflow.now()
        workflow.upsert_search_attributes([search.STATUS.value_set(f"close:{step}")])

    @workflow.run
    async def run(self, inp: ClosePositionInput) -> ClosePositionResult:
        self._pid = inp.position_id
        self._cfg = cfg = inp.config
        workflow.upsert_search_attributes(
            [
                search.USER_ID.value_set(str(inp.user_id)),
                search.POSITION_ID.value_set(str(inp.position_id)),
            ]
        )
        self._at("starting", inp.reason)
        start = await calls.run(
            calls.BEGIN_CLOSE,
            inp.position_id,
            inp.reason,
            inp.requested_by,
            inp.user_id,  # checked against the owner (an activity input: replay-neutral)
            result_type=CloseStart,
            queue=cfg.engine_queue,
            timeout=policies.DB_TIMEOUT,
            retry=policies.DB,
        )
        workflow.upsert_search_attributes([search.ASSET.value_set(start.asset.value)])
        if start.status in (PositionStatus.CLOSED, PositionStatus.FAILED):
            self._at("done", "already closed")
            return ClosePositionResult(
                position_id=inp.position_id, status=start.status, already_closed=True
            )
        if start.status is not PositionStatus.CLOSING:
            # OPENING or HALTED: not ours to touch; the open saga or an operator owns it.
            self._at("refused", f"position is {start.status.value}")
            return ClosePositionResult(
                position_id=inp.position_id,
                status=start.status,
                reason=f"position is {start.status.value}",
            )

        self._at("reconciling")
        report = await reconcile_account(
            cfg, inp.user_id, exclude=inp.position_id, context="before close"
        )
        mine = [m.detail for m in report.mismatches if m.position_id == inp.position_id]
        if mine:
            return await self._halt(inp, f"reconciliation (before close): {'; '.join(mine)}")

        async def record(fill: LegFill) -> None:
            await self._db(calls.RECORD_LEG_FILLS, inp.position_id, [fill])

        slippage = cfg.exit_slippage_bps * (2 if inp.urgent else 1)
        try:
            self._at("closing_short", f"{start.short_size} SOL")
            await legs.buy_back_short(
                cfg, inp.position_id, inp.user_id, start.short_size, record, slippage_bps=slippage
            )
            self._at("closing_long")
            closed = await legs.close_long(cfg, inp.position_id, inp.user_id, start.asset)
            if closed.fill is not None:
                await record(closed.fill)
            self._at("settling")
            settlement = await calls.run(
                calls.SETTLE_CLOSE,
                inp.position_id,
                inp.user_id,
                closed,
                result_type=CloseSettlement,
                queue=cfg.venue_queue,
                heartbeat=policies.VENUE_HEARTBEAT,
                timeout=policies.VENUE_CALL_TIMEOUT,
                schedule_to_close=timedelta(minutes=10),
                retry=policies.UNWIND,
            )
        except (ActivityError, ApplicationError) as err:
            return await self._halt(inp, f"close failed: {legs.cause(err)}")
        await self._db(calls.RECORD_POSITION_CLOSED, inp.position_id, settlement, inp.reason)
        self._at("closed", f"realised {settlement.pnl.total} USD")
        return ClosePositionResult(
            position_id=inp.position_id,
            status=PositionStatus.CLOSED,
            reason=inp.reason,
            pnl=settlement.pnl,
        )

    async def _halt(self, inp: ClosePositionInput, reason: str) -> ClosePositionResult:
        self._at("halted", reason)
        await self._db(calls.HALT_POSITION, inp.position_id, reason)
        workflow.upsert_search_attributes([search.HALT_REASON.value_set(reason[:250])])
        return ClosePositionResult(
            position_id=inp.position_id, status=PositionStatus.HALTED, reason=reason
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
