"""ControlWorkflow: the single writer of pause/resume/emergency-stop state.

One long-lived workflow (id ``control``) serialises every control change, so two operators
pausing and resuming at once end in a well-defined order, and the Temporal UI shows who did
what. The state itself lives in the database, where the engine reads it before each entry.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.control import ControlActivities
    from models.domain import GLOBAL_SCOPE
    from models.messages import ControlChange, ControlStateView, ControlWorkflowInput

CONTROL_WORKFLOW_ID = "control"
# Keep history small: after this many changes the workflow continues as new.
_MAX_CHANGES_PER_RUN = 500

_DB_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)
)


@workflow.defn(name="ControlWorkflow")
class ControlWorkflow:
    @workflow.init
    def __init__(self, inp: ControlWorkflowInput) -> None:
        self._states: dict[str, ControlStateView] = dict(inp.states)
        self._lock = asyncio.Lock()
        self._changes = 0
        self._loaded = bool(inp.states)

    @workflow.run
    async def run(self, inp: ControlWorkflowInput) -> None:
        if not self._loaded:
            async with self._lock:
                rows = await workflow.execute_activity_method(
                    ControlActivities.read_control_states,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=_DB_RETRY,
                )
                # An update may have landed while we read; the in-memory value is newer.
                for row in rows:
                    self._states.setdefault(row.scope, row)
                self._loaded = True
        await workflow.wait_condition(
            lambda: (
                self._changes >= _MAX_CHANGES_PER_RUN
                or workflow.info().is_continue_as_new_suggested()
            )
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(ControlWorkflowInput(states=self._states))

    @workflow.update
    async def apply(self, change: ControlChange) -> ControlStateView:
        async with self._lock:
            if change.change_id is None:
                change = change.model_copy(update={"change_id": str(workflow.uuid4())})
            view = await workflow.execute_activity_method(
                ControlActivities.apply_control_change,
                change,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=_DB_RETRY,
            )
            self._states[view.scope] = view
            self._changes += 1
            if change.emergency_stop and change.scope == GLOBAL_SCOPE:
                # Entries are stopped (the state above); now close everything that is open.
                await workflow.execute_activity_method(
                    ControlActivities.close_all_positions,
                    f"emergency_stop: {change.reason or 'no reason given'}",
                    start_to_close_timeout=timedelta(minutes=5),
                    heartbeat_timeout=timedelta(seconds=60),
                    retry_policy=_DB_RETRY,
                )
            return view

    @apply.validator
    def _validate_apply(self, change: ControlChange) -> None:
        # Pydantic already validated the shape; refuse what would be meaningless.
        if change.emergency_stop and not change.paused:
            raise ValueError("an emergency stop is also a pause: set paused=true")

    @workflow.query
    def states(self) -> dict[str, ControlStateView]:
        return dict(self._states)
