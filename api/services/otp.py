"""E-mail one-time codes: hashed at rest (bound to the address), single use, expiring,
limited in wrong attempts; a new code supersedes the older ones."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.errors import ApiError
from api.security.codes import CodeSender
from api.security.secrets_ import new_otp, otp_hash, same
from basis.config import Settings
from models.tables import LoginCode

log = logging.getLogger(__name__)

# One answer for every failure, so a caller learns nothing about which check failed.
INVALID = "invalid or expired code"


async def request_code(
    session: AsyncSession, settings: Settings, sender: CodeSender, email: str, now: datetime
) -> None:
    """Issue a code for ``email`` and send it. Nothing here depends on whether a user with
    that address exists: the answer, and its timing, are the same for every address."""
    secret = settings.secrets_for("hash")[0]
    code = new_otp()
    await session.exec(
        update(LoginCode)
        .where(col(LoginCode.email) == email, col(LoginCode.used_at).is_(None))
        .values(used_at=now)
    )
    session.add(
        LoginCode(
            email=email,
            code_hash=otp_hash(secret, email, code),
            expires_at=now + timedelta(seconds=settings.auth.otp_ttl_seconds),
            created_at=now,
        )
    )
    # Codes a day past their expiry are of no use to anyone: keep the table small.
    await session.exec(delete(LoginCode).where(col(LoginCode.expires_at) < now - timedelta(days=1)))
    await session.commit()
    try:
        await sender.send(email, code, settings.auth.otp_ttl_seconds)
    except Exception as exc:  # the client's answer must not depend on delivery
        log.warning("one-time code delivery failed: %s", type(exc).__name__)


async def verify_code(
    session: AsyncSession, settings: Settings, email: str, code: str, now: datetime
) -> None:
    """Consume the address's current code if ``code`` matches it; raise ``ApiError`` (one
    message for wrong, expired, used or unknown; AUT-0005 once the attempts are spent)."""
    row = (
        await session.exec(
            select(LoginCode)
            .where(LoginCode.email == email, col(LoginCode.used_at).is_(None))
            .order_by(col(LoginCode.created_at).desc())
            .limit(1)
        )
    ).first()
    if row is None or row.expires_at <= now:
        raise ApiError("AUT-0002", INVALID)
    limit = settings.auth.otp_max_attempts
    if row.attempts >= limit:
        raise ApiError("AUT-0005", "too many wrong codes: request a new one")
    expected = otp_hash(settings.secrets_for("hash")[0], email, code)
    if not same(expected, row.code_hash):
        # Counted atomically: parallel guesses cannot each see the same attempt number.
        await session.exec(
            update(LoginCode)
            .where(col(LoginCode.id) == row.id, col(LoginCode.attempts) < limit)
            .values(attempts=col(LoginCode.attempts) + 1)
        )
        await session.commit()
        raise ApiError("AUT-0002", INVALID)
    # Single use: only one verification can move used_at from NULL.
    result = await session.exec(
        update(LoginCode)
        .where(
            col(LoginCode.id) == row.id,
            col(LoginCode.used_at).is_(None),
            col(LoginCode.attempts) < limit,
            col(LoginCode.expires_at) > now,
        )
        .values(used_at=now)
    )
    await session.commit()
    if result.rowcount != 1:
        raise ApiError("AUT-0002", INVALID)
