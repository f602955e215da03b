"""RebalanceWorkflow: delta drift re-hedged, low margin topped up, low health repaid."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models.messages import EngineConfig, RebalanceOrder, RebalanceResult
from tests.workflows.fakes import FakeWorld
from workflows.rebalance import RebalanceWorkflow


@pytest.fixture
async def world(
    temporal_env: WorkflowEnvironment, task_queue: str
) -> AsyncIterator[tuple[FakeWorld, Client, str]]:
    w = FakeWorld(long_open=True, short_size=Decimal("-100"))
    w.ledger["status"] = "open"
    async with Worker(
        temporal_env.client,
        task_queue=task_queue,
        workflows=[RebalanceWorkflow],
        activities=[*w.activities(), *w.ledger_activities()],
    ):
        yield w, temporal_env.client, task_queue


async def _rebalance(
    client: Client, q: str, reason: str, *, transfer: str = "0", target: str = "100"
) -> RebalanceResult:
    pid = uuid.uuid4()
    return await client.execute_workflow(
        RebalanceWorkflow.run,
        RebalanceOrder(
            position_id=pid,
            user_id=uuid.uuid4(),
            reason=reason,
            transfer_usd=Decimal(transfer),
            target_short_size=Decimal(target),
            config=EngineConfig(engine_queue=q, venue_queue=q),
        ),
        id=f"rebalance-{pid}",
        task_queue=q,
    )


async def test_delta_drift_sells_the_missing_short(world: tuple[FakeWorld, Client, str]) -> None:
    w, client, q = world
    result = await _rebalance(client, q, "delta_drift", target="103.5")
    assert result.actions == ["sold 3.5 SOL"]
    assert w.short_size == Decimal("-103.5")
    assert w.ledger["rebalances"][0].actions == ["sold 3.5 SOL"]


async def test_delta_drift_the_other_way_buys_back_reduce_only(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    result = await _rebalance(client, q, "delta_drift", target="98")
    assert result.actions == ["bought back 2 SOL"]
    assert w.short_size == Decimal("-98")
    assert "reduce" in w.calls


async def test_drift_within_a_lot_changes_nothing(world: tuple[FakeWorld, Client, str]) -> None:
    w, client, q = world
    result = await _rebalance(client, q, "delta_drift", target="100.004")
    assert result.skipped == "within one lot"
    assert "hedge" not in w.calls


async def test_low_short_margin_is_topped_up_from_the_free_balance_and_a_shortfall_noted(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    w.free_margin = Decimal(300)
    result = await _rebalance(client, q, "margin_below_rebalance", transfer="-500")
    assert result.actions == ["added 300 USDC to the Hyperliquid margin"]
    assert result.skipped == "200 USDC short: not enough free balance on the venue"


async def test_low_long_health_repays_debt_under_a_stable_update_key(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    result = await _rebalance(client, q, "health_below_min", transfer="250")
    assert result.actions == ["repaid 250 USDC of Asgard debt"]
    assert any(c.startswith("repay:update:") for c in w.calls)


async def test_a_position_that_is_no_longer_open_is_left_alone(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    w.ledger["status"] = "closing"
    result = await _rebalance(client, q, "delta_drift", target="110")
    assert result.skipped == "position is closing"
    assert w.short_size == Decimal("-100")
