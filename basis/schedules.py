"""The Temporal Schedules that drive the periodic cycles (intent scan, position monitor).

Created or updated idempotently by every worker at start-up, so a deployment never runs
without them and a changed interval takes effect on the next start.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from basis.config import Settings
from basis.engine import engine_config
from workflows.cycles import (
    INTENT_SCAN_SCHEDULE_ID,
    MONITOR_SCHEDULE_ID,
    IntentScanWorkflow,
    MonitorCycleWorkflow,
)

log = logging.getLogger(__name__)


def _schedules(settings: Settings) -> dict[str, Schedule]:
    cfg = engine_config(settings)
    queue = settings.temporal.task_queue

    def every(seconds: int, workflow: object, wf_id: str) -> Schedule:
        return Schedule(
            action=ScheduleActionStartWorkflow(
                workflow,  # type: ignore[arg-type]
                cfg,
                id=wf_id,
                task_queue=queue,
                execution_timeout=timedelta(seconds=seconds * 4),
            ),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=seconds))]),
            # A cycle still running when the next is due: skip the next, never pile up; after
            # an outage, run one catch-up cycle, not the backlog.
            policy=SchedulePolicy(
                overlap=ScheduleOverlapPolicy.SKIP,
                catchup_window=timedelta(seconds=max(seconds, 60)),
            ),
        )

    return {
        INTENT_SCAN_SCHEDULE_ID: every(
            cfg.intent_scan_interval_seconds, IntentScanWorkflow.run, "intent-scan-cycle"
        ),
        MONITOR_SCHEDULE_ID: every(
            cfg.monitor_interval_seconds, MonitorCycleWorkflow.run, "monitor-cycle"
        ),
    }


async def ensure_schedules(client: Client, settings: Settings) -> None:
    for schedule_id, schedule in _schedules(settings).items():
        try:
            await client.create_schedule(schedule_id, schedule)
            log.info("created schedule %s", schedule_id)
        except ScheduleAlreadyRunningError:

            def replace(_: ScheduleUpdateInput, new: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=new)

            await client.get_schedule_handle(schedule_id).update(replace)


async def trigger_intent_scan(client: Client) -> None:
    """Run an intent scan now (a market signal), without waiting for the next interval."""
    await client.get_schedule_handle(INTENT_SCAN_SCHEDULE_ID).trigger(
        overlap=ScheduleOverlapPolicy.SKIP
    )
