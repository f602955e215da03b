"""OpenPositionWorkflow as a saga, against scripted venues."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models import search
from models.domain import Asset, PositionStatus
from models.messages import EngineConfig, OpenPositionInput, OpenPositionResult
from tests.workflows.fakes import FakeWorld, partial, refuse, unfilled
from workflows.open_position import OpenPositionWorkflow


@pytest.fixture
async def world(
    temporal_env: WorkflowEnvironment, task_queue: str
) -> AsyncIterator[tuple[FakeWorld, Client, str]]:
    w = FakeWorld()
    async with Worker(
        temporal_env.client,
        task_queue=task_queue,
        workflows=[OpenPositionWorkflow],
        activities=[*w.activities(), *w.ledger_activities()],
    ):
        yield w, temporal_env.client, task_queue


async def _open(client: Client, queue: str, **cfg: object) -> tuple[OpenPositionResult, uuid.UUID]:
    pid = uuid.uuid4()
    inp = OpenPositionInput(
        position_id=pid,
        user_id=uuid.uuid4(),
        asset=Asset.SOL,
        leverage=Decimal(3),
        capital_usd=Decimal(10_000),
        config=EngineConfig.model_validate({"engine_queue": queue, "venue_queue": queue, **cfg}),
    )
    result = await client.execute_workflow(
        OpenPositionWorkflow.run, inp, id=f"open-{pid}", task_queue=queue
    )
    return result, pid


async def test_open_hedges_the_long_that_actually_filled_and_records_the_position(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    result, _ = await _open(client, q)
    assert result.status is PositionStatus.OPEN
    assert w.calls == ["reconcile", "preflight", "set_leverage", "open_long", "hedge"]
    assert result.long is not None and result.short is not None
    assert result.short.size == Decimal("150.00")  # 5000 USD x 3 / 100 USD
    assert w.short_size == Decimal("-150.00")
    assert w.ledger["status"] == "open"
    assert result.unhedged_seconds is not None and 0 <= result.unhedged_seconds < 10


async def test_partial_hedge_fills_continue_with_new_client_order_ids_until_hedged(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    w.hedge_script = [partial("0.5"), unfilled, partial("0.4")]
    result, _ = await _open(client, q)
    assert result.status is PositionStatus.OPEN
    assert w.hedge_attempts == [1, 2, 3, 4]
    assert result.short is not None
    assert result.short.size == Decimal("150.00")
    assert w.short_size == Decimal("-150.00")


async def test_open_when_hedge_rejected_unwinds_long_leg(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    w.hedge_script = [refuse("InsufficientMargin")]
    result, _ = await _open(client, q)
    assert result.status is PositionStatus.FAILED
    assert "hedge incomplete" in (result.reason or "")
    assert w.calls[-1] == "close_long"
    assert not w.long_open
    assert w.ledger["status"] == "failed"


async def test_a_partial_hedge_then_rejection_buys_back_the_short_and_closes_the_long(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    w.hedge_script = [partial("0.3"), refuse("InsufficientMargin")]
    result, _ = await _open(client, q)
    assert result.status is PositionStatus.FAILED
    assert w.short_size == 0
    assert not w.long_open
    assert w.calls[-2:] == ["reduce", "close_long"]


async def test_a_hedge_that_keeps_failing_is_unwound_within_the_exposure_limit(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    retryable = ApplicationError("venue down", type="ServerError")
    w.hedge_script = [lambda req: retryable] * 1000
    result, _ = await _open(client, q, max_single_leg_exposure_seconds=6, unwind_budget_seconds=3)
    assert result.status is PositionStatus.FAILED
    assert not w.long_open
    assert result.unhedged_seconds is not None
    assert result.unhedged_seconds <= 6


async def test_a_denied_preflight_touches_no_venue(world: tuple[FakeWorld, Client, str]) -> None:
    w, client, q = world
    w.approve = False
    result, _ = await _open(client, q)
    assert result.status is PositionStatus.FAILED
    assert result.reason == "preflight: funding_below_threshold"
    assert w.calls == ["reconcile", "preflight"]


async def test_a_failed_long_open_still_makes_sure_nothing_was_left_open(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    w.long_error = ApplicationError("simulation failed", type="LogicalError", non_retryable=True)
    result, _ = await _open(client, q)
    assert result.status is PositionStatus.FAILED
    assert w.calls[-1] == "close_long"
    assert "hedge" not in w.calls


async def test_an_unwind_that_cannot_finish_halts_the_position_for_an_operator(
    world: tuple[FakeWorld, Client, str],
) -> None:
    w, client, q = world
    w.hedge_script = [refuse("InsufficientMargin")]
    w.close_long_error = ApplicationError("bad key", type="WalletNotFound", non_retryable=True)
    result, pid = await _open(client, q)
    assert result.status is PositionStatus.HALTED
    assert w.ledger["status"] == "halted"
    desc = await client.get_workflow_handle(f"open-{pid}").describe()
    halt = desc.typed_search_attributes.get(search.HALT_REASON)
    assert halt is not None and "unwind failed" in halt


async def test_search_attributes_make_the_open_findable_by_user_and_position(
    world: tuple[FakeWorld, Client, str],
) -> None:
    _, client, q = world
    _, pid = await _open(client, q)
    desc = await client.get_workflow_handle(f"open-{pid}").describe()
    attrs = desc.typed_search_attributes
    assert attrs.get(search.POSITION_ID) == str(pid)
    assert attrs.get(search.ASSET) == "SOL"
    assert attrs.get(search.STATUS) == "open:open"


async def test_a_hedge_that_overfills_beyond_the_drift_limit_is_unwound(
    world: tuple[FakeWorld, Client, str],
) -> None:
    from tests.workflows.fakes import LegSide, _fill

    w, client, q = world
    # The venue fills 160 SOL for an order of 150: the legs differ by 6.7%, above 2%.
    w.hedge_script = [lambda req: _fill(req.size + Decimal(10), Decimal(100), LegSide.SHORT)]
    result, _ = await _open(client, q)
    assert result.status is PositionStatus.FAILED
    assert "delta drift" in (result.reason or "")
    assert w.short_size == 0
    assert not w.long_open


async def test_a_hedge_whose_response_was_lost_is_found_by_its_client_order_id(
    world: tuple[FakeWorld, Client, str],
) -> None:
    from tests.workflows.fakes import lost

    w, client, q = world
    w.hedge_script = [lost]
    result, _ = await _open(client, q, max_single_leg_exposure_seconds=8, unwind_budget_seconds=4)
    assert result.status is PositionStatus.OPEN
    # Retries reused the one client order id; the lost fill was found by lookup, so no
    # second order was placed and the position is not over-hedged.
    assert set(w.hedge_attempts) == {1}
    assert "hedge_fill" in w.calls
    assert w.short_size == Decimal("-150.00")


async def test_an_account_the_venues_disagree_about_opens_nothing(
    world: tuple[FakeWorld, Client, str],
) -> None:
    from models.messages import Mismatch, ReconcileReport

    w, client, q = world
    w.reconcile_report = ReconcileReport(
        user_id=uuid.uuid4(),
        consistent=False,
        mismatches=[Mismatch(position_id=None, venue="hyperliquid", detail="holds 5 SOL short")],
    )
    result, _ = await _open(client, q)
    assert result.status is PositionStatus.FAILED
    assert result.reason == "reconciliation: holds 5 SOL short"
    assert w.calls == ["reconcile"]
