"""Pause, resume, emergency stop and the intent scan. The global switches are for operators;
every user may pause and resume their own account's entries."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from temporalio.service import RPCError, RPCStatusCode

from api.auth import CurrentUser, Operator
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.services import control
from basis.logging import correlation_id
from basis.schedules import trigger_intent_scan
from models.domain import GLOBAL_SCOPE, UserRole, user_scope
from models.messages import ControlChange, ControlStateView
from models.tables import User

router = APIRouter(prefix="/control", tags=["control"])


class PauseRequest(BaseModel):
    reason: str | None = Field(default=None, max_length=500)


class ControlStatus(BaseModel):
    paused: bool
    emergency_stop: bool
    scopes: list[ControlStateView]


def _operator(user: User) -> str:
    return f"operator:{user.id}"


@router.get("", response_model=ControlStatus)
async def status(user: CurrentUser, session: SessionDep) -> ControlStatus:
    """The global switches and your own; operators see every account's."""
    states = await control.read_states(session)
    if user.role != UserRole.OPERATOR:
        mine = {GLOBAL_SCOPE, user_scope(user.id)}
        states = [s for s in states if s.scope in mine]
    g = next((s for s in states if s.scope == GLOBAL_SCOPE), None)
    return ControlStatus(
        paused=bool(g and g.paused), emergency_stop=bool(g and g.emergency_stop), scopes=states
    )


@router.post("/pause", response_model=ControlStateView)
async def pause(
    body: PauseRequest, user: Operator, client: TemporalDep, settings: SettingsDep
) -> ControlStateView:
    """Stop new entries for everyone. Open positions stay monitored and can be closed."""
    change = ControlChange(
        scope=GLOBAL_SCOPE,
        paused=True,
        reason=body.reason,
        actor=_operator(user),
        correlation_id=correlation_id.get(),
    )
    return await control.apply_change(client, settings, change)


@router.post("/emergency-stop", response_model=ControlStateView)
async def emergency_stop(
    body: PauseRequest, user: Operator, client: TemporalDep, settings: SettingsDep
) -> ControlStateView:
    """Stop all new entries and close every open position now (urgent closes). Undo with
    ``/control/resume``; closed positions stay closed."""
    change = ControlChange(
        scope=GLOBAL_SCOPE,
        paused=True,
        emergency_stop=True,
        reason=body.reason,
        actor=_operator(user),
        correlation_id=correlation_id.get(),
    )
    return await control.apply_change(client, settings, change)


class Triggered(BaseModel):
    triggered: str


@router.post("/scan", response_model=Triggered)
async def scan_now(user: Operator, client: TemporalDep) -> Triggered:
    """A market signal: evaluate every pending intent now instead of at the next interval."""
    try:
        await trigger_intent_scan(client)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        raise ApiError(
            "GEN-0003", "the intent-scan schedule does not exist yet: no engine worker has started"
        ) from exc
    return Triggered(triggered="intent-scan")


@router.post("/me/pause", response_model=ControlStateView)
async def pause_me(
    body: PauseRequest, user: CurrentUser, client: TemporalDep, settings: SettingsDep
) -> ControlStateView:
    """Stop new entries for your own account. Your open positions stay monitored."""
    change = ControlChange(
        scope=user_scope(user.id),
        paused=True,
        reason=body.reason,
        actor=f"user:{user.id}",
        correlation_id=correlation_id.get(),
    )
    return await control.apply_change(client, settings, change)


@router.post("/me/resume", response_model=ControlStateView)
async def resume_me(
    body: PauseRequest, user: CurrentUser, client: TemporalDep, settings: SettingsDep
) -> ControlStateView:
    change = ControlChange(
        scope=user_scope(user.id),
        paused=False,
        reason=body.reason,
        actor=f"user:{user.id}",
        correlation_id=correlation_id.get(),
    )
    return await control.apply_change(client, settings, change)


@router.post("/resume", response_model=ControlStateView)
async def resume(
    body: PauseRequest, user: Operator, client: TemporalDep, settings: SettingsDep
) -> ControlStateView:
    change = ControlChange(
        scope=GLOBAL_SCOPE,
        paused=False,
        reason=body.reason,
        actor=_operator(user),
        correlation_id=correlation_id.get(),
    )
    return await control.apply_change(client, settings, change)
