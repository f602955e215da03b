"""Positions: reads from the database, closes through ClosePositionWorkflow."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError
from api.schemas import LegPublic, OperationPublic, PnlPublic, PositionPublic
from basis.config import Settings
from basis.engine import engine_config
from models.domain import PositionStatus
from models.messages import ClosePositionInput, StepProgress
from models.tables import Leg, Position
from workflows.close_position import ClosePositionWorkflow
from workflows.open_position import OpenPositionWorkflow


def close_workflow_id(position_id: uuid.UUID) -> str:
    return f"close-{position_id}"


def open_workflow_id(position_id: uuid.UUID) -> str:
    return f"open-{position_id}"


async def get(session: AsyncSession, user_id: uuid.UUID, position_id: uuid.UUID) -> Position:
    row = await session.get(Position, position_id)
    if row is None or row.user_id != user_id:
        raise ApiError("POS-0001")
    return row


async def public(session: AsyncSession, row: Position) -> PositionPublic:
    return (await public_many(session, [row]))[0]


async def public_many(session: AsyncSession, rows: Sequence[Position]) -> list[PositionPublic]:
    """The positions as the API shows them; their legs are read in one query, not one per
    position."""
    legs: dict[uuid.UUID, list[Leg]] = {row.id: [] for row in rows}
    if legs:
        for leg in await session.exec(select(Leg).where(col(Leg.position_id).in_(legs))):
            legs[leg.position_id].append(leg)
    return [_public(row, legs[row.id]) for row in rows]


def _public(row: Position, legs: list[Leg]) -> PositionPublic:
    pnl = None
    if row.realised_pnl_usd is not None:
        pnl = PnlPublic(
            funding=row.pnl_funding_usd,
            staking=row.pnl_staking_usd,
            lending=row.pnl_lending_usd,
            borrow=row.pnl_borrow_usd,
            price=row.pnl_price_usd,
            fees=row.pnl_fees_usd,
            total=row.realised_pnl_usd,
        )
    return PositionPublic(
        id=row.id,
        status=row.status,
        asset=row.asset,
        protocol=row.protocol,
        leverage=row.leverage,
        capital_usd=row.capital_usd,
        entry_price=row.entry_price,
        exit_price=row.exit_price,
        close_reason=row.close_reason,
        halt_reason=row.halt_reason,
        intent_id=row.intent_id,
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        created_at=row.created_at,
        legs=[
            LegPublic(
                venue=leg.venue,
                side=leg.side,
                status=leg.status,
                instrument=leg.instrument,
                size=leg.size,
                entry_price=leg.entry_price,
                exit_price=leg.exit_price,
                notional_usd=leg.notional_usd,
            )
            for leg in sorted(legs, key=lambda x: x.side)
        ],
        realised_pnl=pnl,
    )


async def list_for(
    session: AsyncSession, user_id: uuid.UUID, status: PositionStatus | None, limit: int
) -> list[Position]:
    q = select(Position).where(Position.user_id == user_id)
    if status is not None:
        q = q.where(Position.status == status)
    q = q.order_by(col(Position.created_at).desc()).limit(limit)
    return list((await session.exec(q)).all())


async def request_close(
    session: AsyncSession,
    client: Client,
    settings: Settings,
    row: Position,
    reason: str,
    by: str,
) -> str:
    """Start (or join) the close. Returns its workflow id."""
    if row.status in (PositionStatus.OPENING,):
        raise ApiError("POS-0006", "the position is still opening; close it once it is open")
    if row.status is PositionStatus.HALTED:
        raise ApiError("POS-0002", f"the position is halted for an operator: {row.halt_reason}")
    if row.status in (PositionStatus.FAILED,):
        raise ApiError("POS-0002", "the position never opened")
    wid = close_workflow_id(row.id)
    await client.start_workflow(
        ClosePositionWorkflow.run,
        ClosePositionInput(
            position_id=row.id,
            user_id=row.user_id,
            reason=reason,
            requested_by=by,
            config=engine_config(settings),
        ),
        id=wid,
        task_queue=settings.temporal.task_queue,
        # A double-click or a monitor exit racing a user close: one workflow.
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return wid


async def operation(client: Client, row: Position) -> OperationPublic:
    """The close if there is one, else the open, with the step it has reached."""
    for kind, wid, query in (
        ("close", close_workflow_id(row.id), ClosePositionWorkflow.progress),
        ("open", open_workflow_id(row.id), OpenPositionWorkflow.progress),
    ):
        handle = client.get_workflow_handle(wid)
        try:
            desc = await handle.describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                continue
            raise
        running = desc.status == WorkflowExecutionStatus.RUNNING
        progress: StepProgress | None = None
        try:
            progress = await handle.query(query)
        except RPCError:
            progress = None  # a finished workflow whose history is gone answers no queries
        return OperationPublic(
            position_id=row.id,
            operation=kind,
            running=running,
            step=progress.step if progress else None,
            detail=progress.detail if progress else None,
            workflow_id=wid,
            position_status=row.status,
        )
    return OperationPublic(
        position_id=row.id,
        operation="none",
        running=False,
        step=None,
        detail=None,
        workflow_id=None,
        position_status=row.status,
    )
