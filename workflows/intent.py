"""IntentWorkflow: a user's standing order, from "waiting for the criteria" to an open position.

The intent does not poll on its own: the intent scan (a Temporal Schedule every scan interval)
evaluates every pending intent against one market snapshot and signals ``wake`` to those whose
criteria hold; a market signal can trigger that scan early. Woken, the intent re-checks on
fresh data, checks the entry gate (pause, kill switch, circuit breaker), and runs the open as a
child workflow. Cancel, expiry and pause are honoured throughout.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from models import search
    from models.domain import IntentStatus, PositionStatus
    from models.messages import (
        EntryGate,
        IntentCheck,
        IntentInput,
        IntentProgress,
        IntentStatusChange,
        OpenPositionInput,
        OpenPositionResult,
    )
    from workflows import calls, policies
    from workflows.open_position import OpenPositionWorkflow

_POSITION_NAMESPACE = uuid.UUID("3f4e9a52-5d0e-4b6b-9b1f-1c7a2f1d8e60")


def position_id_for(intent_id: uuid.UUID, attempt: int) -> uuid.UUID:
    """Deterministic position id per intent attempt: a re-run finds the same position."""
    return uuid.uuid5(_POSITION_NAMESPACE, f"{intent_id}:{attempt}")


@workflow.defn(name="IntentWorkflow")
class IntentWorkflow:
    @workflow.init
    def __init__(self, inp: IntentInput) -> None:
        self._inp = inp
        self._status = IntentStatus.PENDING
        # A wake signal can arrive before run() starts: never overwrite it there.
        self._woken = inp.execute_immediately
        self._cancel_by: str | None = None
        self._position_id: uuid.UUID | None = None
        self._failure: str | None = None
        self._carry = inp.carry

    # ---- messages --------------------------------------------------------------------------

    @workflow.signal
    def wake(self, reason: str) -> None:
        """The scan found the criteria met (or a market signal asks for a re-check)."""
        self._woken = True

    @workflow.update
    async def cancel(self, by: str) -> IntentProgress:
        self._cancel_by = by
        await workflow.wait_condition(lambda: self._status.is_terminal)
        return self.progress()

    @cancel.validator
    def _validate_cancel(self, by: str) -> None:
        if self._status is IntentStatus.EXECUTING:
            raise ApplicationError("the intent is executing its open", type="IntentExecuting")
        if self._status.is_terminal:
            raise ApplicationError(f"the intent is already {self._status.value}", type="IntentDone")

    @workflow.query
    def progress(self) -> IntentProgress:
        return IntentProgress(
            intent_id=self._inp.intent_id,
            status=self._status,
            position_id=self._position_id,
            last_check_at=self._carry.last_check_at,
            last_check=self._carry.last_check,
            failure_reason=self._failure,
        )

    # ---- run -------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: IntentInput) -> IntentProgress:
        workflow.upsert_search_attributes(
            [
                search.USER_ID.value_set(str(inp.user_id)),
                search.INTENT_ID.value_set(str(inp.intent_id)),
                search.ASSET.value_set(inp.asset.value),
                search.STATUS.value_set("intent:pending"),
            ]
        )
        while True:
            expired = await self._wait()
            if self._cancel_by is not None:
                return await self._finish(IntentStatus.CANCELLED, f"cancelled by {self._cancel_by}")
            if expired:
                return await self._finish(IntentStatus.EXPIRED, "expired before the criteria held")
            if not self._woken:
                # Nothing happened but history grew: start afresh with the state carried over.
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(inp.model_copy(update={"carry": self._carry}))
            self._woken = False
            outcome = await self._try_open(inp)
            if outcome is not None:
                return outcome

    async def _wait(self) -> bool:
        """Wait for a wake, a cancel or expiry. True when the intent expired."""
        if self._woken or self._cancel_by is not None:
            return False
        timeout = None
        if self._inp.expires_at is not None:
            timeout = self._inp.expires_at - workflow.now()
            if timeout <= timedelta(0):
                return True
        try:
            await workflow.wait_condition(
                lambda: (
                    self._woken
                    or self._cancel_by is not None
                    or workflow.info().is_continue_as_new_suggested()
                ),
                timeout=timeout,
            )
        except TimeoutError:
            return True
        return False

    async def _try_open(self, inp: IntentInput) -> IntentProgress | None:
        """Check and open. None means: keep waiting."""
        cfg = inp.config
        gate = await calls.run(
            calls.ENTRY_GATE,
            inp.user_id,
            result_type=EntryGate,
            queue=cfg.engine_queue,
            timeout=policies.DB_TIMEOUT,
            retry=policies.DB,
        )
        if not gate.allowed:
            await self._note(f"gate:{gate.reason}")
            return None
        if not inp.execute_immediately:
            check = await calls.run(
                calls.CHECK_INTENT,
                inp,
                result_type=IntentCheck,
                queue=cfg.venue_queue,
                heartbeat=policies.VENUE_HEARTBEAT,
                timeout=policies.VENUE_CALL_TIMEOUT,
                schedule_to_close=timedelta(minutes=2),
                retry=policies.VENUE,
            )
            await self._note(check.reason)
            if not check.met:
                return None
        if self._cancel_by is not None:
            return None  # the cancel arrived while we checked: it wins

        self._carry = self._carry.model_copy(update={"attempts": self._carry.attempts + 1})
        self._position_id = position_id_for(inp.intent_id, self._carry.attempts)
        await self._set(IntentStatus.EXECUTING)
        result: OpenPositionResult = await workflow.execute_child_workflow(
            OpenPositionWorkflow.run,
            OpenPositionInput(
                position_id=self._position_id,
                user_id=inp.user_id,
                asset=inp.asset,
                leverage=inp.leverage,
                capital_usd=inp.capital_usd,
                intent_id=inp.intent_id,
                config=cfg,
            ),
            id=f"open-{self._position_id}",
            task_queue=workflow.info().task_queue,
            # An open in flight must finish (or unwind) even if this intent is terminated.
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
        if result.status is PositionStatus.OPEN:
            return await self._finish(IntentStatus.FILLED, None)
        denied = (result.reason or "").startswith("preflight:")
        if denied and not inp.execute_immediately:
            # Nothing was opened: the market moved between the check and the preflight.
            self._position_id = None
            await self._note(result.reason or "preflight")
            await self._set(IntentStatus.PENDING)
            return None
        return await self._finish(IntentStatus.FAILED, result.reason)

    # ---- bookkeeping -----------------------------------------------------------------------

    async def _note(self, check: str) -> None:
        self._carry = self._carry.model_copy(
            update={"last_check": check, "last_check_at": workflow.now()}
        )

    async def _set(self, status: IntentStatus) -> None:
        """Write the status, then show it: a cancel answered "cancelled" is in the database."""
        await calls.run(
            calls.SET_INTENT_STATUS,
            IntentStatusChange(
                intent_id=self._inp.intent_id,
                status=status,
                position_id=self._position_id,
                failure_reason=self._failure,
                last_check=self._carry.last_check,
                user_id=self._inp.user_id,
            ),
            result_type=type(None),
            queue=self._inp.config.engine_queue,
            timeout=policies.DB_TIMEOUT,
            retry=policies.DB,
        )
        self._status = status
        workflow.upsert_search_attributes([search.STATUS.value_set(f"intent:{status.value}")])

    async def _finish(self, status: IntentStatus, reason: str | None) -> IntentProgress:
        self._failure = reason if status is not IntentStatus.FILLED else None
        await self._set(status)
        return self.progress()
