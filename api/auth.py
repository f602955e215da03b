"""Who is calling.

Until sessions and API tokens land, paper mode identifies a user by the ``X-User-Id`` header
(created on first use, with wallets). Live modes refuse the header: there, nothing is served
without real authentication.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

import httpx
from fastapi import Depends, Header, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.errors import ApiError
from basis.clock import utc_now
from basis.config import Settings
from models.domain import UserRole
from models.tables import User
from wallets.keystore import LocalKeystore
from wallets.paper import PaperFaucet

log = logging.getLogger(__name__)


async def get_current_user(
    request: Request,
    x_user_id: Annotated[uuid.UUID | None, Header(alias="X-User-Id")] = None,
) -> User:
    settings: Settings = request.app.state.settings
    if settings.mode != "paper":
        raise ApiError("AUT-0001", "authentication required")
    if x_user_id is None:
        raise ApiError("AUT-0001", "X-User-Id header required (paper mode)")
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as s:
        user = await s.get(User, x_user_id)
    if user is None:
        try:
            async with sessions() as s, s.begin():
                user = User(id=x_user_id, role=UserRole.USER, created_at=utc_now())
                s.add(user)
        except IntegrityError:
            async with sessions() as s:
                user = await s.get(User, x_user_id)
        assert user is not None
    keystore = LocalKeystore(sessions, settings.server_secret.get_secret_value())
    wallets = await keystore.ensure_wallets(user.id)
    if wallets.created and settings.paper_deposits:
        try:
            await PaperFaucet(settings).deposit(wallets)
        except httpx.HTTPError as exc:  # the user exists; a deposit can be asked for later
            log.warning("paper deposit for %s failed: %s", user.id, exc)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
