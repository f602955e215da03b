"""IntentWorkflow: waiting, waking, gating, cancelling, expiring and opening."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models.domain import Asset, IntentStatus
from models.messages import EngineConfig, IntentInput, IntentProgress
from tests.workflows.fakes import FakeWorld
from workflows.intent import IntentWorkflow, position_id_for
from workflows.open_position import OpenPositionWorkflow

Handle = WorkflowHandle[IntentWorkflow, IntentProgress]


@pytest.fixture
async def world(
    temporal_env: WorkflowEnvironment, task_queue: str
) -> AsyncIterator[tuple[FakeWorld, Client, str]]:
    w = FakeWorld()
    async with Worker(
        temporal_env.client,
        task_queue=task_queue,
        workflows=[IntentWorkflow, OpenPositionWorkflow],
        activities=[*w.activities(), *w.ledger_activities()],
    ):
        yield w, temporal_env.client, task_queue


async def _start(client: Client, queue: str, **kw: object) -> Handle:
    iid = uuid.uuid4()
    inp = IntentInput.model_validate(
        {
            "intent_id": iid,
            "user_id": uuid.uuid4(),
            "asset": Asset.JITOSOL,
            "leverage": Decimal(3),
            "capital_usd": Decimal(10_000),
            "config": EngineConfig(engine_queue=queue, venue_queue=queue),
            **kw,
        }
    )
    return await client.start_workflow(
        IntentWorkflow.run,
        inp,
        id=f"intent-{iid}",
        task_queue=queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def _until(handle: Handle, predicate: object, timeout: float = 10) -> IntentProgress:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        p = await handle.query(IntentWorkflow.progress)
        if predicate(p):  # type: ignore[operator]
            return p
        assert asyncio.get_running_loop().time() < deadline, p
        await asyncio.sleep(0.1)


async def test_an_intent_waits_until_woken_then_opens_and_is_filled(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    h = await _start(client, q)
    await asyncio.sleep(0.5)
    assert (await h.query(IntentWorkflow.progress)).status is IntentStatus.PENDING
    assert "open_long" not in w.calls
    await h.signal(IntentWorkflow.wake, "scan")
    result = await h.result()
    assert result.status is IntentStatus.FILLED
    assert result.position_id == position_id_for(result.intent_id, 1)
    assert w.intent_statuses == ["executing", "filled"]
    assert w.ledger["status"] == "open"


async def test_a_wake_whose_fresh_check_fails_keeps_the_intent_pending(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    w.criteria_met = False
    h = await _start(client, q)
    await h.signal(IntentWorkflow.wake, "scan")
    p = await _until(h, lambda p: p.last_check is not None)
    assert p.status is IntentStatus.PENDING
    assert p.last_check == "net_apy_below_minimum"
    assert "open_long" not in w.calls
    await h.execute_update(IntentWorkflow.cancel, "test")


async def test_a_paused_gate_keeps_the_intent_pending_and_a_later_wake_opens_it(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    w.gate_reason = "paused"
    h = await _start(client, q)
    await h.signal(IntentWorkflow.wake, "scan")
    p = await _until(h, lambda p: p.last_check is not None)
    assert p.last_check == "gate:paused"
    assert "preflight" not in w.calls
    w.gate_reason = None
    await h.signal(IntentWorkflow.wake, "scan")
    assert (await h.result()).status is IntentStatus.FILLED


async def test_cancel_while_pending_ends_the_intent(world: tuple[FakeWorld, Client, str]) -> None:
    w, client, q = world
    h = await _start(client, q)
    p = await h.execute_update(IntentWorkflow.cancel, "user")
    assert p.status is IntentStatus.CANCELLED
    assert p.failure_reason == "cancelled by user"
    assert w.intent_statuses == ["cancelled"]
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):
        await h.execute_update(IntentWorkflow.cancel, "user")


async def test_an_intent_expires_when_its_time_runs_out(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    h = await _start(client, q, expires_at=datetime.now(UTC) + timedelta(seconds=1))
    result = await h.result()
    assert result.status is IntentStatus.EXPIRED
    assert w.intent_statuses == ["expired"]


async def test_execute_immediately_skips_the_criteria_but_not_the_gate(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    w.criteria_met = False
    h = await _start(client, q, execute_immediately=True)
    result = await h.result()
    assert result.status is IntentStatus.FILLED
    assert "check" not in w.calls


async def test_an_immediate_open_refused_by_preflight_fails_with_the_reason(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    w.approve = False
    result = await (await _start(client, q, execute_immediately=True)).result()
    assert result.status is IntentStatus.FAILED
    assert result.failure_reason == "preflight: funding_below_threshold"


async def test_a_woken_intent_refused_by_preflight_waits_for_the_next_wake(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    w.approve = False
    h = await _start(client, q)
    await h.signal(IntentWorkflow.wake, "scan")
    await _until(h, lambda p: p.last_check and p.last_check.startswith("preflight"))
    w.approve = True
    await h.signal(IntentWorkflow.wake, "scan")
    result = await h.result()
    assert result.status is IntentStatus.FILLED
    # The second attempt has its own position id: the failed one stays failed.
    assert result.position_id == position_id_for(result.intent_id, 2)


async def test_submitting_the_same_intent_twice_collapses_onto_one_workflow(
    world: tuple[FakeWorld, Client, str],
) -> None:
    _, client, q = world
    iid = uuid.uuid4()
    inp = IntentInput(
        intent_id=iid,
        user_id=uuid.uuid4(),
        asset=Asset.SOL,
        leverage=Decimal(2),
        capital_usd=Decimal(1000),
        config=EngineConfig(engine_queue=q, venue_queue=q),
    )
    handles = [
        await client.start_workflow(
            IntentWorkflow.run,
            inp,
            id=f"intent-{iid}",
            task_queue=q,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        for _ in range(2)
    ]
    a, b = handles
    assert a.result_run_id == b.result_run_id
    await a.execute_update(IntentWorkflow.cancel, "test")
