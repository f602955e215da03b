"""Control changes go through the ControlWorkflow (update-with-start), reads come from the
database."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from basis.config import Settings
from models.messages import ControlChange, ControlStateView, ControlWorkflowInput
from models.tables import ControlState
from workflows.control import CONTROL_WORKFLOW_ID, ControlWorkflow


async def apply_change(
    client: Client, settings: Settings, change: ControlChange
) -> ControlStateView:
    start = WithStartWorkflowOperation(
        ControlWorkflow.run,
        ControlWorkflowInput(),
        id=CONTROL_WORKFLOW_ID,
        task_queue=settings.temporal.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return await client.execute_update_with_start_workflow(
        ControlWorkflow.apply, change, start_workflow_operation=start
    )


async def read_states(session: AsyncSession) -> list[ControlStateView]:
    rows = (await session.exec(select(ControlState).order_by(ControlState.scope))).all()
    return [
        ControlStateView(
            scope=r.scope,
            paused=r.paused,
            emergency_stop=r.emergency_stop,
            reason=r.reason,
            updated_by=r.updated_by,
            updated_at=r.updated_at,
        )
        for r in rows
    ]
