"""ClosePositionWorkflow against scripted venues."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models.domain import PositionStatus
from models.messages import ClosePositionInput, ClosePositionResult, EngineConfig
from tests.workflows.fakes import FakeWorld
from workflows.close_position import ClosePositionWorkflow


@pytest.fixture
async def world(
    temporal_env: WorkflowEnvironment, task_queue: str
) -> AsyncIterator[tuple[FakeWorld, Client, str]]:
    w = FakeWorld(long_open=True, short_size=Decimal("-150"))
    w.ledger["status"] = "open"
    async with Worker(
        temporal_env.client,
        task_queue=task_queue,
        workflows=[ClosePositionWorkflow],
        activities=[*w.activities(), *w.ledger_activities()],
    ):
        yield w, temporal_env.client, task_queue


def _inp(queue: str, pid: uuid.UUID) -> ClosePositionInput:
    return ClosePositionInput(
        position_id=pid,
        user_id=uuid.uuid4(),
        reason="user_request",
        config=EngineConfig(engine_queue=queue, venue_queue=queue),
    )


async def _close(client: Client, queue: str, pid: uuid.UUID) -> ClosePositionResult:
    return await client.execute_workflow(
        ClosePositionWorkflow.run,
        _inp(queue, pid),
        id=f"close-{pid}",
        task_queue=queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def test_close_buys_back_the_short_before_closing_the_long_and_records_pnl(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    result = await _close(client, q, uuid.uuid4())
    assert result.status is PositionStatus.CLOSED
    assert w.calls.index("reduce") < w.calls.index("close_long") < w.calls.index("settle")
    assert w.short_size == 0
    assert not w.long_open
    assert result.pnl is not None
    parts = result.pnl
    assert (
        parts.funding + parts.staking + parts.lending + parts.borrow + parts.price + (parts.fees)
        == parts.total
    )
    assert w.ledger["status"] == "closed"


async def test_closing_twice_at_once_collapses_onto_one_workflow(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    pid = uuid.uuid4()
    a, b = await asyncio.gather(_close(client, q, pid), _close(client, q, pid))
    assert a == b
    assert w.ledger["close_requests"] == 1
    assert w.calls.count("close_long") == 1


async def test_closing_a_closed_position_is_a_clean_no_op(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    pid = uuid.uuid4()
    await _close(client, q, pid)
    calls_before = list(w.calls)
    again = await client.execute_workflow(
        ClosePositionWorkflow.run, _inp(q, pid), id=f"close-{pid}-again", task_queue=q
    )
    assert again.already_closed
    assert again.status is PositionStatus.CLOSED
    assert w.calls == calls_before


async def test_a_short_the_venue_no_longer_holds_halts_instead_of_being_called_flat(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    w.ledger["short_size"] = Decimal("150")  # what the database believes
    w.short_size = Decimal("-100")  # what Hyperliquid holds
    result = await _close(client, q, uuid.uuid4())
    assert result.status is PositionStatus.HALTED
    assert "holds 100 SOL short, the database expects 150" in (result.reason or "")
    assert w.ledger["status"] == "halted"
    # Nothing was bought back and the long was left alone for the operator.
    assert w.short_size == Decimal("-100")
    assert w.long_open


async def test_a_close_of_a_position_the_venues_disagree_about_halts_it(
    world: tuple[FakeWorld, Client, str],
) -> None:
    from models.messages import Mismatch, ReconcileReport

    w, client, q = world
    pid = uuid.uuid4()
    w.reconcile_report = ReconcileReport(
        user_id=uuid.uuid4(),
        consistent=False,
        mismatches=[Mismatch(position_id=pid, venue="asgard", detail="long gone")],
    )
    result = await _close(client, q, pid)
    assert result.status is PositionStatus.HALTED
    assert result.reason == "reconciliation (before close): long gone"
    assert "reduce" not in w.calls
    assert w.long_open
