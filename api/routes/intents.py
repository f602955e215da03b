"""Intents: standing orders that open a position when their criteria hold."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.auth import CurrentUser, now_of
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.schemas import IntentCreate, IntentPublic
from api.services import balances, intents, preferences
from basis.config import Settings
from models.domain import IntentStatus
from models.tables import Intent, User

router = APIRouter(prefix="/intents", tags=["intents"])

IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=8, max_length=100)
]


def preflight(
    request: Request, session: AsyncSession, settings: Settings, user: User
) -> Callable[[IntentCreate], Awaitable[IntentCreate]]:
    """The checks a new intent passes before it is stored: the user's own settings (and
    defaults), the global risk limits, then whether the user's venues can fund it."""

    async def check(body: IntentCreate) -> IntentCreate:
        resolved = await preferences.apply(session, user.id, body, settings.risk)
        intents.validate_limits(settings, resolved)
        funding = await balances.check_user(
            request.app.state.venues,
            request.app.state.wallets,
            settings,
            user.id,
            resolved.capital_usd,
        )
        if not funding.ok:
            raise balances.refusal(funding)
        return resolved

    return check


@router.post(
    "",
    response_model=IntentPublic,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "The same intent, submitted again"}},
)
async def create_intent(
    body: IntentCreate,
    user: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> IntentPublic:
    """Create an intent. The same request again (same ``Idempotency-Key``, or the same body
    within five minutes) returns the same intent with 200 instead of creating another.
    Refused with WAL-0001 when your venues cannot fund ``capital_usd``."""
    row, created = await intents.create(
        session,
        client,
        settings,
        user.id,
        body,
        idempotency_key,
        now_of(request),
        preflight(request, session, settings, user),
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return intents.public(row)


@router.get("", response_model=list[IntentPublic])
async def list_intents(
    user: CurrentUser,
    session: SessionDep,
    status_: Annotated[IntentStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[IntentPublic]:
    q = select(Intent).where(Intent.user_id == user.id)
    if status_ is not None:
        q = q.where(Intent.status == status_)
    rows = (await session.exec(q.order_by(col(Intent.created_at).desc()).limit(limit))).all()
    return [intents.public(r) for r in rows]


@router.get("/{intent_id}", response_model=IntentPublic)
async def get_intent(intent_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> IntentPublic:
    return intents.public(await intents.get(session, user.id, intent_id))


@router.delete("/{intent_id}", response_model=IntentPublic)
async def cancel_intent(
    intent_id: uuid.UUID, user: CurrentUser, session: SessionDep, client: TemporalDep
) -> IntentPublic:
    """Cancel a pending intent. Cancelling a cancelled intent answers it again."""
    row = await intents.cancel(session, client, user.id, intent_id, by=f"user:{user.id}")
    return intents.public(row)
