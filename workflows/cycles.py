"""The two periodic cycles, each started by a Temporal Schedule (overlap: skip).

IntentScanWorkflow: one market snapshot, every pending intent evaluated against it in one
batch activity, and only the intents whose criteria hold are woken.

MonitorCycleWorkflow: one market snapshot per cycle, open positions observed in batches of
accounts (one Hyperliquid state call per account, one Asgard refresh per batch), the strategy's
risk and exit rules run on each, and a ClosePositionWorkflow started for each exit.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from models.messages import (
        ClosePositionInput,
        EngineConfig,
        MonitorBatchResult,
        MonitorPlan,
        MonitorReport,
        ScanReport,
    )
    from workflows import calls, policies
    from workflows.close_position import ClosePositionWorkflow
    from workflows.rebalance import RebalanceWorkflow

INTENT_SCAN_SCHEDULE_ID = "intent-scan"
MONITOR_SCHEDULE_ID = "position-monitor"
# Batches observed at once: bounds the load on the venues and on the venue workers.
MONITOR_PARALLEL_BATCHES = 8
_CYCLE_ACTIVITY = timedelta(minutes=2)


@workflow.defn(name="IntentScanWorkflow")
class IntentScanWorkflow:
    @workflow.run
    async def run(self, cfg: EngineConfig) -> ScanReport:
        return await calls.run(
            calls.SCAN_INTENTS,
            cfg,
            result_type=ScanReport,
            queue=cfg.venue_queue,
            timeout=_CYCLE_ACTIVITY,
            heartbeat=timedelta(seconds=30),
            # A scan that cannot finish within its interval is replaced by the next one.
            schedule_to_close=timedelta(seconds=max(cfg.intent_scan_interval_seconds, 30)),
            retry=policies.VENUE,
        )


@workflow.defn(name="MonitorCycleWorkflow")
class MonitorCycleWorkflow:
    @workflow.run
    async def run(self, cfg: EngineConfig) -> MonitorReport:
        started = workflow.now()
        plan = await calls.run(
            calls.PLAN_MONITOR,
            cfg,
            result_type=MonitorPlan,
            queue=cfg.venue_queue,
            timeout=timedelta(seconds=30),
            schedule_to_close=timedelta(seconds=60),
            retry=policies.VENUE,
        )
        limit = asyncio.Semaphore(MONITOR_PARALLEL_BATCHES)

        async def batch(i: int) -> MonitorBatchResult:
            async with limit:
                return await calls.run(
                    calls.MONITOR_BATCH,
                    plan.market_ref,
                    plan.ranges[i],
                    cfg,
                    result_type=MonitorBatchResult,
                    queue=cfg.venue_queue,
                    timeout=_CYCLE_ACTIVITY,
                    heartbeat=timedelta(seconds=30),
                    schedule_to_close=_CYCLE_ACTIVITY * 2,
                    retry=policies.VENUE,
                )

        results = await asyncio.gather(
            *(batch(i) for i in range(len(plan.ranges))), return_exceptions=True
        )
        done = [r for r in results if isinstance(r, MonitorBatchResult)]
        errors = sum(r.errors for r in done) + (len(results) - len(done))
        started_closes = 0
        for r in done:
            for order in r.exits:
                try:
                    await workflow.start_child_workflow(
                        ClosePositionWorkflow.run,
                        ClosePositionInput(
                            position_id=order.position_id,
                            user_id=order.user_id,
                            reason=order.reason,
                            urgent=order.urgent,
                            requested_by="monitor",
                            config=cfg,
                        ),
                        id=f"close-{order.position_id}",
                        task_queue=cfg.engine_queue,
                        # The close outlives this cycle.
                        parent_close_policy=ParentClosePolicy.ABANDON,
                    )
                    started_closes += 1
                except WorkflowAlreadyStartedError:
                    pass  # a close of this position is already running: it is the same close
        started_rebalances = 0
        for r in done:
            for reb in r.rebalances:
                try:
                    await workflow.start_child_workflow(
                        RebalanceWorkflow.run,
                        reb,
                        id=f"rebalance-{reb.position_id}",
                        task_queue=cfg.engine_queue,
                        parent_close_policy=ParentClosePolicy.ABANDON,
                    )
                    started_rebalances += 1
                except WorkflowAlreadyStartedError:
                    pass  # the previous rebalance of this position is still at work
        return MonitorReport(
            positions=plan.positions,
            evaluated=sum(r.evaluated for r in done),
            exits_started=started_closes,
            rebalances=started_rebalances,
            errors=errors,
            duration_ms=(workflow.now() - started).total_seconds() * 1000,
        )
