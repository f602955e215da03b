"""Reconciliation in workflows: before each open and close, and for every account at worker
start. Halted positions get a marker workflow (id ``halt-{position_id}``) carrying the search
attributes, so an operator finds them in the Temporal UI by ``BasisHaltReason``."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from uuid import UUID

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from models import search
    from models.messages import EngineConfig, ReconcileReport, ReconcileRequest
    from workflows import calls, policies

_PARALLEL_ACCOUNTS = 8


async def reconcile_account(
    cfg: EngineConfig, user_id: UUID, *, exclude: UUID | None, context: str
) -> ReconcileReport:
    report = await calls.run(
        calls.RECONCILE_USER,
        ReconcileRequest(user_id=user_id, exclude_position=exclude, context=context),
        result_type=ReconcileReport,
        queue=cfg.venue_queue,
        heartbeat=policies.VENUE_HEARTBEAT,
        timeout=policies.VENUE_CALL_TIMEOUT,
        schedule_to_close=timedelta(minutes=2),
        retry=policies.VENUE,
    )
    for pid in report.halted:
        reason = next(
            (m.detail for m in report.mismatches if m.position_id == pid), "reconciliation"
        )
        await mark_halted(cfg, user_id, pid, f"reconciliation ({context}): {reason}")
    return report


async def mark_halted(cfg: EngineConfig, user_id: UUID, position_id: UUID, reason: str) -> None:
    with contextlib.suppress(WorkflowAlreadyStartedError):  # already marked
        await workflow.start_child_workflow(
            HaltedPositionWorkflow.run,
            args=[str(user_id), str(position_id), reason],
            id=f"halt-{position_id}",
            task_queue=cfg.engine_queue,
            parent_close_policy=ParentClosePolicy.ABANDON,
        )


@workflow.defn(name="HaltedPositionWorkflow")
class HaltedPositionWorkflow:
    """A marker: its search attributes make a halted position findable; the halt itself is in
    the database (status, reason) and the audit log."""

    @workflow.run
    async def run(self, user_id: str, position_id: str, reason: str) -> str:
        workflow.upsert_search_attributes(
            [
                search.USER_ID.value_set(user_id),
                search.POSITION_ID.value_set(position_id),
                search.STATUS.value_set("halted"),
                search.HALT_REASON.value_set(reason[:250]),
            ]
        )
        return reason


@workflow.defn(name="ReconcileWorkflow")
class ReconcileWorkflow:
    """Every account with live positions, checked against the venues (run at worker start)."""

    @workflow.run
    async def run(self, cfg: EngineConfig) -> list[ReconcileReport]:
        users = await calls.run(
            calls.USERS_WITH_POSITIONS,
            result_type=list[UUID],
            queue=cfg.venue_queue,
            heartbeat=policies.VENUE_HEARTBEAT,
            timeout=policies.DB_TIMEOUT,
            retry=policies.DB,
        )
        limit = asyncio.Semaphore(_PARALLEL_ACCOUNTS)

        async def one(uid: UUID) -> ReconcileReport:
            async with limit:
                return await reconcile_account(cfg, uid, exclude=None, context="startup")

        reports = await asyncio.gather(*(one(u) for u in users))
        return [r for r in reports if not r.consistent or r.skipped]
