"""Your own trading settings: defaults and limits that can only tighten the global ones."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from api.auth import CurrentUser, now_of
from api.deps import SessionDep, SettingsDep
from api.services import preferences
from api.services.preferences import Limits, Preferences

router = APIRouter(prefix="/settings", tags=["settings"])


class SettingsPublic(BaseModel):
    settings: Preferences
    """What you saved; null fields follow the global limits."""
    limits: Limits
    """The global limits your settings must stay within."""
    version: int
    """0 until you first save; each save adds one."""
    updated_at: datetime | None


async def _public(session: SessionDep, settings: SettingsDep, user: CurrentUser) -> SettingsPublic:
    prefs, row = await preferences.load(session, user.id)
    return SettingsPublic(
        settings=prefs,
        limits=preferences.limits(settings.risk),
        version=row.version if row else 0,
        updated_at=row.updated_at if row else None,
    )


@router.get("", response_model=SettingsPublic)
async def get_settings(
    user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> SettingsPublic:
    return await _public(session, settings, user)


@router.put("", response_model=SettingsPublic)
async def save_settings(
    body: Preferences,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
) -> SettingsPublic:
    """Replace your settings. A value that would loosen a global limit is refused
    (VAL-0003, naming the field)."""
    await preferences.save(session, user.id, body, settings.risk, now_of(request))
    return await _public(session, settings, user)


@router.post("/reset", response_model=SettingsPublic)
async def reset_settings(
    user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> SettingsPublic:
    """Back to the global defaults."""
    await preferences.reset(session, user.id)
    return await _public(session, settings, user)
