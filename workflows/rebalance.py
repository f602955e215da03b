"""RebalanceWorkflow: bring an open position back within its limits without closing it.

Started by the monitor (id ``rebalance-{position_id}``, one at a time per position):
- delta drift: sell or buy back the SOL-PERP difference so the short matches the long again;
- short margin low: add isolated margin on Hyperliquid from the account's free balance;
- long health low: repay part of the Asgard USDC debt from the wallet (Kamino and Drift
  offer position updates).
Moving money between the two venues (a bridge) is not done here; when the free balance on the
needy venue is not enough, the shortfall is recorded and the exit rules stay in charge.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from models import search
    from models.domain import PositionStatus
    from models.messages import (
        CloseStart,
        HedgeRequest,
        LegFill,
        RebalanceOrder,
        RebalanceResult,
    )
    from strategy.decisions import RebalanceReason
    from workflows import calls, legs, policies

# Hedge attempts of a rebalance live in their own range of client order ids.
REBALANCE_ATTEMPT_BASE = 100_000


@workflow.defn(name="RebalanceWorkflow")
class RebalanceWorkflow:
    @workflow.run
    async def run(self, order: RebalanceOrder) -> RebalanceResult:
        cfg = order.config
        workflow.upsert_search_attributes(
            [
                search.USER_ID.value_set(str(order.user_id)),
                search.POSITION_ID.value_set(str(order.position_id)),
                search.STATUS.value_set(f"rebalance:{order.reason}"),
            ]
        )
        state = await calls.run(
            calls.POSITION_STATE,
            order.position_id,
            order.user_id,
            result_type=CloseStart,
            queue=cfg.engine_queue,
            timeout=policies.DB_TIMEOUT,
            retry=policies.DB,
        )
        result = RebalanceResult(position_id=order.position_id, reason=order.reason)
        if state.status is not PositionStatus.OPEN:
            result = result.model_copy(update={"skipped": f"position is {state.status.value}"})
        else:
            try:
                result = await self._act(order, state, result)
            except ActivityError as err:
                result = result.model_copy(update={"skipped": f"failed: {legs.cause(err)}"})
        await calls.run(
            calls.RECORD_REBALANCE,
            result,
            result_type=type(None),
            queue=cfg.engine_queue,
            timeout=policies.DB_TIMEOUT,
            retry=policies.DB,
        )
        return result

    async def _act(
        self, order: RebalanceOrder, state: CloseStart, result: RebalanceResult
    ) -> RebalanceResult:
        cfg = order.config
        reason = RebalanceReason(order.reason)
        if reason is RebalanceReason.DELTA_DRIFT:
            diff = order.target_short_size - state.short_size
            if abs(diff) < legs.lot(cfg):
                return result.model_copy(update={"skipped": "within one lot"})
            # Unique per rebalance run: the minute it started, in the rebalance range.
            attempt = REBALANCE_ATTEMPT_BASE + int(workflow.now().timestamp() // 60) % 10**7
            fill = await legs.place_hedge(
                cfg,
                HedgeRequest(
                    position_id=order.position_id,
                    user_id=order.user_id,
                    size=abs(diff),
                    reference_price=Decimal(0),
                    max_slippage_bps=cfg.entry_slippage_bps,
                    attempt=attempt,
                    reduce_only=diff < 0,
                ),
                budget=timedelta(minutes=2),
            )
            if fill.size > 0:
                await self._record(order, fill)
            verb = "bought back" if diff < 0 else "sold"
            return result.model_copy(update={"actions": [f"{verb} {fill.size} SOL"]})
        amount = abs(order.transfer_usd)
        if reason is RebalanceReason.MARGIN_BELOW_REBALANCE:
            added = await calls.run(
                calls.ADD_SHORT_MARGIN,
                order.user_id,
                amount,
                order.position_id,
                result_type=Decimal,
                queue=cfg.venue_queue,
                heartbeat=policies.VENUE_HEARTBEAT,
                timeout=policies.VENUE_CALL_TIMEOUT,
                retry=policies.VENUE,
            )
            return self._added(result, "added {} USDC to the Hyperliquid margin", added, amount)
        minute = int(workflow.now().timestamp() // 60)
        added = await calls.run(
            calls.ADD_LONG_COLLATERAL,
            order.position_id,
            order.user_id,
            amount,
            f"update:{order.position_id}:{minute}",
            result_type=Decimal,
            queue=cfg.venue_queue,
            timeout=policies.LONG_LEG_TIMEOUT,
            heartbeat=policies.LONG_LEG_HEARTBEAT,
            retry=policies.VENUE,
        )
        return self._added(result, "repaid {} USDC of Asgard debt", added, amount)

    @staticmethod
    def _added(
        result: RebalanceResult, action: str, added: Decimal, wanted: Decimal
    ) -> RebalanceResult:
        actions = [action.format(added)] if added > 0 else []
        skipped = None
        if added < wanted:
            skipped = f"{wanted - added} USDC short: not enough free balance on the venue"
        return result.model_copy(update={"actions": actions, "skipped": skipped})

    async def _record(self, order: RebalanceOrder, fill: LegFill) -> None:
        await calls.run(
            calls.RECORD_LEG_FILLS,
            order.position_id,
            [fill],
            result_type=type(None),
            queue=order.config.engine_queue,
            timeout=policies.DB_TIMEOUT,
            retry=policies.DB,
        )
