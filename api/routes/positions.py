"""Positions: list, inspect, open (through an intent) and close."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from api.auth import CurrentUser, now_of
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.routes.intents import IdempotencyKey, preflight
from api.schemas import CloseRequest, IntentCreate, IntentPublic, OperationPublic, PositionPublic
from api.services import intents, positions
from models.domain import PositionStatus

router = APIRouter(prefix="/positions", tags=["positions"])


@router.get("", response_model=list[PositionPublic])
async def list_positions(
    user: CurrentUser,
    session: SessionDep,
    status_: Annotated[PositionStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PositionPublic]:
    rows = await positions.list_for(session, user.id, status_, limit)
    return await positions.public_many(session, rows)


@router.post(
    "/open",
    response_model=IntentPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses={200: {"description": "The same open, submitted again"}},
)
async def open_position(
    body: IntentCreate,
    user: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> IntentPublic:
    """Open a position. It is an intent: it waits for its criteria unless
    ``execute_immediately`` is set (which skips the criteria, never the risk checks). Follow
    it with ``GET /intents/{id}``. Refused with WAL-0001 when your venues cannot fund it."""
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


@router.get("/{position_id}", response_model=PositionPublic)
async def get_position(
    position_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> PositionPublic:
    return await positions.public(session, await positions.get(session, user.id, position_id))


@router.post(
    "/{position_id}/close",
    response_model=OperationPublic,
    status_code=status.HTTP_202_ACCEPTED,
)
async def close_position(
    position_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    response: Response,
    body: CloseRequest | None = None,
) -> OperationPublic:
    """Close the position (works while trading is paused). Closing twice joins the first
    close; closing a closed position answers 200 and changes nothing."""
    row = await positions.get(session, user.id, position_id)
    if row.status is PositionStatus.CLOSED:
        response.status_code = status.HTTP_200_OK
        return await positions.operation(client, row)
    reason = body.reason if body else "user_request"
    await positions.request_close(session, client, settings, row, reason, f"user:{user.id}")
    return await positions.operation(client, row)


@router.get("/{position_id}/operation", response_model=OperationPublic)
async def position_operation(
    position_id: uuid.UUID, user: CurrentUser, session: SessionDep, client: TemporalDep
) -> OperationPublic:
    """The open or close in progress for this position, and the step it has reached."""
    row = await positions.get(session, user.id, position_id)
    return await positions.operation(client, row)
