"""Global pause/resume. (Operator-only once authentication lands; per-user pause comes with
the workflows.)"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from pydantic import BaseModel, Field

from api.auth import CurrentUser
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.services import control
from basis.logging import correlation_id
from basis.schedules import trigger_intent_scan
from models.domain import GLOBAL_SCOPE, user_scope
from models.messages import ControlChange, ControlStateView

router = APIRouter(prefix="/control", tags=["control"])


class PauseRequest(BaseModel):
    reason: str | None = Field(default=None, max_length=500)


class ControlStatus(BaseModel):
    paused: bool
    emergency_stop: bool
    scopes: list[ControlStateView]


ActorHeader = Annotated[str, Header(alias="X-Actor", min_length=1, max_length=128)]


@router.get("", response_model=ControlStatus)
async def status(session: SessionDep) -> ControlStatus:
    states = await control.read_states(session)
    g = next((s for s in states if s.scope == GLOBAL_SCOPE), None)
    return ControlStatus(
        paused=bool(g and g.paused), emergency_stop=bool(g and g.emergency_stop), scopes=states
    )


@router.post("/pause", response_model=ControlStateView)
async def pause(
    body: PauseRequest, client: TemporalDep, settings: SettingsDep, actor: ActorHeader = "api"
) -> ControlStateView:
    """Stop new entries for everyone. Open positions stay monitored and can be closed."""
    change = ControlChange(
        scope=GLOBAL_SCOPE,
        paused=True,
        reason=body.reason,
        actor=actor,
        correlation_id=correlation_id.get(),
    )
    return await control.apply_change(client, settings, change)


@router.post("/emergency-stop", response_model=ControlStateView)
async def emergency_stop(
    body: PauseRequest, client: TemporalDep, settings: SettingsDep, actor: ActorHeader = "api"
) -> ControlStateView:
    """Stop all new entries and close every open position now (urgent closes). Undo with
    ``/control/resume``; closed positions stay closed."""
    change = ControlChange(
        scope=GLOBAL_SCOPE,
        paused=True,
        emergency_stop=True,
        reason=body.reason,
        actor=actor,
        correlation_id=correlation_id.get(),
    )
    return await control.apply_change(client, settings, change)


class Triggered(BaseModel):
    triggered: str


@router.post("/scan", response_model=Triggered)
async def scan_now(client: TemporalDep) -> Triggered:
    """A market signal: evaluate every pending intent now instead of at the next interval."""
    await trigger_intent_scan(client)
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
    body: PauseRequest, client: TemporalDep, settings: SettingsDep, actor: ActorHeader = "api"
) -> ControlStateView:
    change = ControlChange(
        scope=GLOBAL_SCOPE,
        paused=False,
        reason=body.reason,
        actor=actor,
        correlation_id=correlation_id.get(),
    )
    return await control.apply_change(client, settings, change)
