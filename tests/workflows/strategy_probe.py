"""A workflow that calls the strategy the way the real workflows will: imported through
``imports_passed_through``, inputs and results through the pydantic data converter, time from
``workflow.now()``."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.risk import RiskParams
    from strategy import (
        AccountState,
        EntryDecision,
        IntentCriteria,
        MarketSnapshot,
        MonitorState,
        PositionEvaluation,
        PositionObservation,
        evaluate_entry,
        evaluate_position,
    )


class ProbeInput(BaseModel):
    intent: IntentCriteria
    account: AccountState
    snapshot: MarketSnapshot
    position: PositionObservation
    state: MonitorState
    params: RiskParams


class ProbeResult(BaseModel):
    entry: EntryDecision
    evaluation: PositionEvaluation


@workflow.defn(name="StrategyProbe")
class StrategyProbeWorkflow:
    @workflow.run
    async def run(self, inp: ProbeInput) -> ProbeResult:
        now = workflow.now()
        snap = inp.snapshot.model_copy(update={"at": now})
        entry = evaluate_entry(inp.intent, snap, inp.account, inp.params, inp.snapshot.at)
        evaluation = evaluate_position(inp.position, snap, inp.state, inp.params, now)
        return ProbeResult(entry=entry, evaluation=evaluation)
