"""Intents: database row first, then the workflow (id ``intent-{id}``)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError
from api.schemas import IntentCreate, IntentPublic
from basis.clock import utc_now
from basis.config import Settings
from basis.engine import engine_config
from models.domain import IntentStatus
from models.intents import intent_input
from models.tables import Intent
from workflows.intent import IntentWorkflow

_AUTO_KEY_WINDOW = timedelta(minutes=5)


def workflow_id(intent_id: uuid.UUID) -> str:
    return f"intent-{intent_id}"


def public(row: Intent) -> IntentPublic:
    return IntentPublic(
        id=row.id,
        status=row.status,
        asset=row.asset,
        leverage=row.leverage,
        capital_usd=row.capital_usd,
        min_net_apy=row.min_net_apy,
        min_funding_rate=row.min_funding_rate,
        max_funding_volatility=row.max_funding_volatility,
        max_entry_price=row.max_entry_price,
        execute_immediately=row.execute_immediately,
        position_id=row.position_id,
        failure_reason=row.failure_reason,
        expires_at=row.expires_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        workflow_id=workflow_id(row.id),
    )


def validate_limits(settings: Settings, body: IntentCreate) -> None:
    risk = settings.risk
    if body.leverage is None or not risk.leverage.min <= body.leverage <= risk.leverage.max:
        raise ApiError(
            "VAL-0005",
            f"leverage: must be between {risk.leverage.min} and {risk.leverage.max}",
        )
    lim = risk.positions
    if not lim.min_position_usd <= body.capital_usd <= lim.max_position_usd:
        raise ApiError(
            "RSK-0002",
            f"capital_usd: must be between {lim.min_position_usd} and {lim.max_position_usd}",
        )


def _auto_keys(user_id: uuid.UUID, body: IntentCreate, now: datetime) -> tuple[str, str]:
    """Without an Idempotency-Key, the same body from the same user within a few minutes is
    the same intent (a double-click or a retried request). Two buckets so a repeat that
    straddles a bucket boundary is still caught."""
    digest = hashlib.sha256(
        json.dumps(body.model_dump(mode="json"), sort_keys=True).encode() + user_id.bytes
    ).hexdigest()[:40]
    bucket = int(now.timestamp() // _AUTO_KEY_WINDOW.total_seconds())
    return f"auto:{digest}:{bucket}", f"auto:{digest}:{bucket - 1}"


async def ensure_workflow(client: Client, settings: Settings, row: Intent) -> None:
    """Start the intent's workflow, or join the one already running (same id)."""
    await client.start_workflow(
        IntentWorkflow.run,
        intent_input(row, engine_config(settings)),
        id=workflow_id(row.id),
        task_queue=settings.temporal.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def create(
    session: AsyncSession,
    client: Client,
    settings: Settings,
    user_id: uuid.UUID,
    body: IntentCreate,
    idempotency_key: str | None,
    now: datetime,
    preflight: Callable[[IntentCreate], Awaitable[IntentCreate]] | None = None,
) -> tuple[Intent, bool]:
    """The intent for this request, and whether it was created now (False: a repeat).

    ``preflight`` runs only for a new intent (a repeat answers the intent it repeats, even if
    that intent has since spent the balance): it returns the intent with the user's defaults
    resolved, or raises to refuse it (the user's limits, the balance check)."""
    keys: tuple[str, ...] = (
        (f"key:{idempotency_key}",) if idempotency_key else _auto_keys(user_id, body, now)
    )
    existing = await _by_keys(session, user_id, keys)
    created = False
    if existing is None:
        if preflight is not None:
            body = await preflight(body)
        validate_limits(settings, body)
        assert body.leverage is not None
        row = Intent(
            user_id=user_id,
            client_key=keys[0],
            asset=body.asset,
            leverage=body.leverage,
            capital_usd=body.capital_usd,
            min_net_apy=body.min_net_apy,
            min_funding_rate=body.min_funding_rate,
            max_funding_volatility=body.max_funding_volatility,
            max_entry_price=body.max_entry_price,
            execute_immediately=body.execute_immediately,
            status=IntentStatus.PENDING,
            expires_at=(
                now + timedelta(hours=body.expires_in_hours) if body.expires_in_hours else None
            ),
            created_at=now,
            updated_at=now,
        )
        try:
            session.add(row)
            await session.commit()
            created = True
        except IntegrityError:
            await session.rollback()
            existing = await _by_keys(session, user_id, keys)
            if existing is None:
                raise
            row = existing
    else:
        row = existing
    if not row.status.is_terminal:
        await ensure_workflow(client, settings, row)
    return row, created


async def _by_keys(
    session: AsyncSession, user_id: uuid.UUID, keys: tuple[str, ...]
) -> Intent | None:
    rows = await session.exec(
        select(Intent).where(
            Intent.user_id == user_id, or_(*(col(Intent.client_key) == k for k in keys))
        )
    )
    return rows.first()


async def get(session: AsyncSession, user_id: uuid.UUID, intent_id: uuid.UUID) -> Intent:
    row = await session.get(Intent, intent_id)
    # Another user's intent answers exactly like a missing one: ids cannot be probed.
    if row is None or row.user_id != user_id:
        raise ApiError("POS-0004")
    return row


async def cancel(
    session: AsyncSession, client: Client, user_id: uuid.UUID, intent_id: uuid.UUID, by: str
) -> Intent:
    row = await get(session, user_id, intent_id)
    if row.status is IntentStatus.CANCELLED:
        return row
    if row.status.is_terminal:
        raise ApiError("POS-0005", f"intent is already {row.status.value}")
    handle = client.get_workflow_handle(workflow_id(row.id))
    try:
        await handle.execute_update(IntentWorkflow.cancel, by)
    except WorkflowUpdateFailedError as exc:
        if await _reloaded_status(session, row) is IntentStatus.CANCELLED:
            return row
        raise ApiError("POS-0005", f"intent cannot be cancelled now: {exc.cause}") from exc
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        # No running workflow: it ended (and wrote its final status), or it never started
        # because Temporal was down when the intent was created. Then nothing can race us.
        if not (await _reloaded_status(session, row)).is_terminal:
            row.status = IntentStatus.CANCELLED
            row.failure_reason = f"cancelled by {by}"
            row.updated_at = utc_now()
            session.add(row)
            await session.commit()
        return row
    await session.refresh(row)
    return row


async def _reloaded_status(session: AsyncSession, row: Intent) -> IntentStatus:
    """The status as the database holds it now (the workflow may have just written it)."""
    await session.refresh(row)
    return IntentStatus(row.status)
