"""The strategy runs inside Temporal's workflow sandbox, and its values cross the data
converter: what the workflows will do, exercised before they exist."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models.domain import Asset
from models.risk import RiskParams
from strategy import (
    AccountState,
    Enter,
    Exit,
    ExitReason,
    IntentCriteria,
    MonitorState,
    evaluate_entry,
)
from tests.unit.strategy.builders import NOW, position, snapshot, stats
from tests.workflows.strategy_probe import ProbeInput, StrategyProbeWorkflow

D = Decimal


async def test_entry_and_position_rules_run_in_a_workflow(
    temporal_env: WorkflowEnvironment, task_queue: str
) -> None:
    flipped = stats(["0.00002"] * 48 + ["-0.00003"] * 4, predicted="-0.00001")
    inp = ProbeInput(
        intent=IntentCriteria(asset=Asset.SOL, leverage=D(3), capital_usd=D(10000)),
        account=AccountState(asgard_available_usd=D(50000), hyperliquid_available_usd=D(50000)),
        snapshot=snapshot(funding=stats()),
        position=position(),
        state=MonitorState(long_near_since=NOW - timedelta(seconds=5)),
        params=RiskParams(),
    )
    async with Worker(
        temporal_env.client, task_queue=task_queue, workflows=[StrategyProbeWorkflow]
    ):
        result = await temporal_env.client.execute_workflow(
            StrategyProbeWorkflow.run,
            inp,
            id=f"probe-{task_queue}",
            task_queue=task_queue,
            execution_timeout=timedelta(seconds=30),
        )
        flip = await temporal_env.client.execute_workflow(
            StrategyProbeWorkflow.run,
            inp.model_copy(update={"snapshot": snapshot(funding=flipped)}),
            id=f"probe-flip-{task_queue}",
            task_queue=task_queue,
            execution_timeout=timedelta(seconds=30),
        )
    # the same decision a direct call makes
    direct = evaluate_entry(inp.intent, inp.snapshot, inp.account, inp.params, NOW)
    assert isinstance(result.entry, Enter) and result.entry == direct
    assert result.evaluation.state.long_near_since is None  # a healthy position clears it
    assert isinstance(flip.evaluation.decision, Exit)
    assert flip.evaluation.decision.reason is ExitReason.FUNDING_FLIP
