"""Browser sessions: a signed token in an httpOnly cookie, backed by a row that logout
revokes. A token is accepted only while its signature, audience, expiry *and* row agree."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.security.sessions import (
    SessionClaims,
    SessionError,
    csrf_token,
    issue_session,
    verify_session,
)
from api.services.accounts import audit
from basis.config import Settings
from models.tables import AuthSession, User


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    csrf: str
    claims: SessionClaims


async def start(
    session: AsyncSession,
    settings: Settings,
    user: User,
    *,
    method: str,
    now: datetime,
    ip: str | None,
    user_agent: str | None,
) -> NewSession:
    ttl = timedelta(hours=settings.auth.session_ttl_hours)
    token, claims = issue_session(settings.secrets_for("session"), user.id, now, ttl)
    session.add(
        AuthSession(
            id=claims.session_id,
            user_id=user.id,
            method=method,
            created_at=now,
            expires_at=claims.expires_at,
            ip=ip[:64] if ip else None,
            user_agent=user_agent[:256] if user_agent else None,
        )
    )
    db_user = await session.get(User, user.id, with_for_update=True)
    if db_user is not None:
        db_user.last_login_at = now
        session.add(db_user)
    audit(
        session,
        now=now,
        actor=f"user:{user.id}",
        user_id=user.id,
        action="login",
        entity_type="session",
        entity_id=_short(claims.session_id),
        details={"method": method, "ip": ip},
    )
    await session.commit()
    return NewSession(
        token=token, csrf=csrf_token(settings.secrets_for("csrf"), claims.session_id), claims=claims
    )


async def resolve(
    session: AsyncSession, settings: Settings, token: str, now: datetime
) -> tuple[User, AuthSession]:
    """The user and session row behind a session token; ``SessionError`` for anything short
    of a valid, unrevoked, unexpired session of an active user."""
    claims = verify_session(settings.secrets_for("session"), token, now)
    row = (
        await session.exec(
            select(AuthSession, User)
            .join(User, col(User.id) == col(AuthSession.user_id))
            .where(AuthSession.id == claims.session_id)
        )
    ).first()
    if row is None:
        raise SessionError("unknown session")
    auth, user = row
    if auth.user_id != claims.user_id:
        raise SessionError("session does not belong to the token's subject")
    if auth.revoked_at is not None:
        raise SessionError("session revoked")
    if auth.expires_at <= now:
        raise SessionError("session expired")
    return user, auth


async def revoke(
    session: AsyncSession, user_id: uuid.UUID, now: datetime, *, session_id: str | None
) -> int:
    """Revoke one of the user's sessions (``session_id``), or all of them (None)."""
    q = (
        update(AuthSession)
        .where(col(AuthSession.user_id) == user_id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    if session_id is not None:
        q = q.where(col(AuthSession.id) == session_id)
    result = await session.exec(q)
    count = int(result.rowcount or 0)
    audit(
        session,
        now=now,
        actor=f"user:{user_id}",
        user_id=user_id,
        action="logout",
        entity_type="session",
        entity_id=_short(session_id) if session_id else "*",
        details={"revoked": count},
    )
    await session.commit()
    return count


def _short(session_id: str) -> str:
    # The audit log names a session without holding enough of its id to be useful to a thief
    # (the id alone is not a credential, but there is no need to keep it whole).
    return session_id[:8]
