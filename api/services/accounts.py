"""Users: found or created at login, given wallets (and paper money in paper mode), and the
operator role, which only the command line grants."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from basis.config import Settings
from basis.logging import correlation_id
from models.domain import UserRole
from models.tables import AuditEvent, User
from wallets.keystore import UserWallets
from wallets.paper import PaperFaucet
from wallets.provider import WalletProvider

log = logging.getLogger(__name__)

# Deliberately plain: one @, no spaces or control characters, a dotted domain. Deliverability
# is proven by the code arriving, not by a regular expression.
_EMAIL = re.compile(
    r"^[^@\s\x00-\x1f\x7f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$"
)


def normalise_email(value: str) -> str:
    """The canonical form of an address (trimmed, lower case), or ValueError."""
    email = value.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValueError("not a valid e-mail address")
    return email


def audit(
    session: AsyncSession,
    *,
    now: datetime,
    actor: str,
    user_id: uuid.UUID | None,
    action: str,
    entity_type: str,
    entity_id: str,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEvent(
            occurred_at=now,
            actor=actor,
            user_id=user_id,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            details=details or {},
            correlation_id=correlation_id.get(),
        )
    )


async def user_by_email(
    sessions: async_sessionmaker[AsyncSession], email: str, now: datetime
) -> User:
    """The user with this (normalised) address, created on first use. Concurrent first
    logins settle on one row through the unique address."""
    return await _find_or_create(sessions, User.email == email, {"email": email}, now)


async def user_by_privy_id(
    sessions: async_sessionmaker[AsyncSession], privy_id: str, now: datetime
) -> User:
    return await _find_or_create(sessions, User.privy_id == privy_id, {"privy_id": privy_id}, now)


async def _find_or_create(
    sessions: async_sessionmaker[AsyncSession],
    where: Any,
    fields: dict[str, str],
    now: datetime,
) -> User:
    async with sessions() as s:
        user = (await s.exec(select(User).where(where))).first()
    if user is not None:
        return user
    try:
        async with sessions() as s, s.begin():
            user = User.model_validate({"role": UserRole.USER, "created_at": now, **fields})
            s.add(user)
            audit(
                s,
                now=now,
                actor="auth",
                user_id=user.id,
                action="user_created",
                entity_type="user",
                entity_id=str(user.id),
            )
        return user
    except IntegrityError:
        async with sessions() as s:
            existing = (await s.exec(select(User).where(where))).first()
        if existing is None:
            raise
        return existing


async def onboard(settings: Settings, wallets: WalletProvider, user: User) -> UserWallets:
    """Make sure the user has a Solana and an EVM wallet; a paper user whose wallets were
    just created gets the paper deposit on both emulated venues."""
    ws = await wallets.ensure_wallets(user.id)
    if ws.created and settings.mode == "paper" and settings.paper_deposits:
        try:
            await PaperFaucet(settings).deposit(ws)
        except httpx.HTTPError as exc:  # the user exists; a deposit can be asked for later
            log.warning("paper deposit for %s failed: %s", user.id, exc)
    return ws


async def set_role(
    sessions: async_sessionmaker[AsyncSession],
    email: str,
    role: UserRole,
    now: datetime,
    *,
    actor: str = "cli",
    create: bool = True,
) -> User:
    """Give the user with this address ``role`` (creating the user when ``create``)."""
    address = normalise_email(email)
    async with sessions() as s:
        existing = (await s.exec(select(User).where(User.email == address))).first()
    if existing is None:
        if not create:
            raise LookupError(f"no user with address {address}")
        existing = await user_by_email(sessions, address, now)
    async with sessions() as s, s.begin():
        user = await s.get(User, existing.id, with_for_update=True)
        assert user is not None
        before = UserRole(user.role)
        user.role = role
        s.add(user)
        if before is not role:
            audit(
                s,
                now=now,
                actor=actor,
                user_id=user.id,
                action="role_changed",
                entity_type="user",
                entity_id=str(user.id),
                details={"from": before.value, "to": role.value},
            )
    return user
