"""Dependency aliases used by the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from api.temporal import TemporalConnector
from basis.config import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


def get_connector(request: Request) -> TemporalConnector:
    connector: TemporalConnector = request.app.state.temporal
    return connector


async def get_temporal(request: Request) -> Client:
    return await get_connector(request).get()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
ConnectorDep = Annotated[TemporalConnector, Depends(get_connector)]
