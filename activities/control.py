"""Control-state activities: the pause/resume/emergency flags in the database."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from basis.clock import Clock, utc_now
from models.domain import GLOBAL_SCOPE, PositionStatus, user_scope
from models.messages import (
    ClosePositionInput,
    ControlChange,
    ControlStateView,
    EngineConfig,
    EntryGate,
)
from models.tables import AuditEvent, ControlState, Position


def _view(row: ControlState) -> ControlStateView:
    return ControlStateView(
        scope=row.scope,
        paused=row.paused,
        emergency_stop=row.emergency_stop,
        reason=row.reason,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


class ControlActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock = utc_now,
        kill_switch: Path | None = None,
        *,
        temporal: Client | None = None,
        engine: EngineConfig | None = None,
    ):
        self._sessions = sessions
        self._clock = clock
        self._kill_switch = kill_switch
        self._temporal = temporal
        self._engine = engine or EngineConfig()

    @activity.defn(name="close_all_positions")
    async def close_all_positions(self, reason: str) -> int:
        """Start (or join) an urgent close of every open position: the emergency stop.
        Idempotent: a close already running for a position is joined, not doubled."""
        if self._temporal is None:
            raise RuntimeError("close_all_positions needs a Temporal client")
        async with self._sessions() as session:
            rows = (
                await session.exec(
                    select(Position.id, Position.user_id).where(
                        Position.status == PositionStatus.OPEN
                    )
                )
            ).all()
        # Imported here: the workflow module is only needed by this one activity.
        from workflows.close_position import ClosePositionWorkflow

        for i, (pid, uid) in enumerate(rows):
            await self._temporal.start_workflow(
                ClosePositionWorkflow.run,
                ClosePositionInput(
                    position_id=pid,
                    user_id=uid,
                    reason=reason,
                    urgent=True,
                    requested_by="emergency_stop",
                    config=self._engine,
                ),
                id=f"close-{pid}",
                task_queue=self._engine.engine_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
            if i % 100 == 0:
                activity.heartbeat(i)
        return len(rows)

    @activity.defn(name="entry_gate")
    async def entry_gate(self, user_id: uuid.UUID) -> EntryGate:
        """May this user open a position now? Checks, in order: the kill-switch file, the
        global emergency stop and pause, the user's own pause. Closes are never gated."""
        if self._kill_switch is not None and self._kill_switch.exists():
            return EntryGate(allowed=False, reason="kill_switch")
        async with self._sessions() as session:
            rows = await session.exec(
                select(ControlState).where(
                    col(ControlState.scope).in_([GLOBAL_SCOPE, user_scope(user_id)])
                )
            )
            states = {r.scope: r for r in rows.all()}
        g = states.get(GLOBAL_SCOPE)
        if g is not None and g.emergency_stop:
            return EntryGate(allowed=False, reason="emergency_stop")
        if g is not None and g.paused:
            return EntryGate(allowed=False, reason="paused")
        u = states.get(user_scope(user_id))
        if u is not None and u.paused:
            return EntryGate(allowed=False, reason="user_paused")
        return EntryGate(allowed=True)

    @activity.defn(name="apply_control_change")
    async def apply_control_change(self, change: ControlChange) -> ControlStateView:
        """Write the new state and its audit event in one transaction. A retry of a change
        that already committed finds its audit event and returns the stored state."""
        now = self._clock()
        async with self._sessions() as session, session.begin():
            row = await session.get(ControlState, change.scope, with_for_update=True)
            if change.change_id is not None:
                done = await session.exec(
                    select(AuditEvent.id).where(
                        AuditEvent.entity_type == "control",
                        AuditEvent.correlation_id == change.change_id,
                    )
                )
                if done.first() is not None and row is not None:
                    return _view(row)
            if row is None:
                row = ControlState(scope=change.scope, updated_by=change.actor, updated_at=now)
            row.paused = change.paused or change.emergency_stop
            row.emergency_stop = change.emergency_stop
            row.reason = change.reason
            row.updated_by = change.actor
            row.updated_at = now
            session.add(row)
            user_id = None
            if change.scope.startswith("user:"):
                user_id = uuid.UUID(change.scope.removeprefix("user:"))
            session.add(
                AuditEvent(
                    occurred_at=now,
                    actor=change.actor,
                    user_id=user_id,
                    action=(
                        "emergency_stop"
                        if change.emergency_stop
                        else ("pause" if change.paused else "resume")
                    ),
                    entity_type="control",
                    entity_id=change.scope,
                    details={"reason": change.reason, "request": change.correlation_id},
                    correlation_id=change.change_id,
                )
            )
            await session.flush()
            return _view(row)

    @activity.defn(name="read_control_states")
    async def read_control_states(self) -> list[ControlStateView]:
        async with self._sessions() as session:
            rows = await session.exec(select(ControlState))
            return [_view(r) for r in rows.all()]
