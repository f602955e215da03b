"""Per-user API tokens for scripts: shown once, stored as a keyed hash, revocable."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.errors import ApiError
from api.security.secrets_ import (
    API_TOKEN_PREFIX,
    api_token_hash,
    api_token_hashes,
    new_api_token,
)
from api.services.accounts import audit
from basis.config import Settings
from models.tables import ApiToken, User

# A token's last use is recorded at most this often: a write per request would cost more
# than the information is worth.
_TOUCH_EVERY = timedelta(minutes=1)


class TokenError(Exception):
    """Not a valid, unrevoked, unexpired token of an active user."""


async def create(
    session: AsyncSession,
    settings: Settings,
    user_id: uuid.UUID,
    *,
    name: str,
    expires_in_days: int | None,
    now: datetime,
    actor: str,
) -> tuple[ApiToken, str]:
    """The new token's row and the token itself (the only time it exists in clear)."""
    active = (
        await session.exec(
            select(func.count())
            .select_from(ApiToken)
            .where(
                ApiToken.user_id == user_id,
                col(ApiToken.revoked_at).is_(None),
                _unexpired(now),
            )
        )
    ).one()
    if active >= settings.auth.max_tokens_per_user:
        raise ApiError(
            "GEN-0004",
            f"at most {settings.auth.max_tokens_per_user} active tokens; revoke one first",
        )
    days = expires_in_days or settings.auth.token_max_days
    if days > settings.auth.token_max_days:
        raise ApiError("VAL-0003", f"expires_in_days: at most {settings.auth.token_max_days}")
    token = new_api_token()
    row = ApiToken(
        user_id=user_id,
        name=name,
        token_hash=api_token_hash(settings.secrets_for("hash")[0], token),
        hint=token[: len(API_TOKEN_PREFIX) + 6],
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(row)
    audit(
        session,
        now=now,
        actor=actor,
        user_id=user_id,
        action="api_token_created",
        entity_type="api_token",
        entity_id=str(row.id),
        details={"name": name},
    )
    await session.commit()
    return row, token


async def list_for(session: AsyncSession, user_id: uuid.UUID) -> list[ApiToken]:
    rows = await session.exec(
        select(ApiToken)
        .where(ApiToken.user_id == user_id)
        .order_by(col(ApiToken.created_at).desc())
    )
    return list(rows.all())


async def revoke(
    session: AsyncSession, user_id: uuid.UUID, token_id: uuid.UUID, now: datetime
) -> ApiToken:
    row = await session.get(ApiToken, token_id)
    # Another user's token answers exactly like a missing one.
    if row is None or row.user_id != user_id:
        raise ApiError("GEN-0002", "token not found")
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        audit(
            session,
            now=now,
            actor=f"user:{user_id}",
            user_id=user_id,
            action="api_token_revoked",
            entity_type="api_token",
            entity_id=str(row.id),
        )
        await session.commit()
    return row


async def resolve(
    session: AsyncSession, settings: Settings, token: str, now: datetime
) -> tuple[User, ApiToken]:
    if not token.startswith(API_TOKEN_PREFIX) or len(token) > 200:
        raise TokenError("not an API token")
    digests = api_token_hashes(settings.secrets_for("hash"), token)
    row = (
        await session.exec(
            select(ApiToken, User)
            .join(User, col(User.id) == col(ApiToken.user_id))
            .where(col(ApiToken.token_hash).in_(digests))
        )
    ).first()
    if row is None:
        raise TokenError("unknown token")
    tok, user = row
    if tok.revoked_at is not None:
        raise TokenError("token revoked")
    if tok.expires_at is not None and tok.expires_at <= now:
        raise TokenError("token expired")
    if tok.last_used_at is None or now - tok.last_used_at >= _TOUCH_EVERY:
        tok.last_used_at = now
        session.add(tok)
        await session.commit()
    return user, tok


def _unexpired(now: datetime):  # type: ignore[no-untyped-def]
    return col(ApiToken.expires_at).is_(None) | (col(ApiToken.expires_at) > now)
