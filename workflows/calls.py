"""Activity names and typed calls.

Workflows call activities by name so the sandboxed workflow modules never import the activity
implementations (which pull in venue SDKs and database drivers). The implementations register
under the same names (``@activity.defn(name=...)``); tests register fakes under them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

T = TypeVar("T")

# engine queue: database
CREATE_POSITION = "create_position"
RECORD_LEG_FILLS = "record_leg_fills"
RECORD_POSITION_OPEN = "record_position_open"
RECORD_POSITION_FAILED = "record_position_failed"
BEGIN_CLOSE = "begin_close"
RECORD_POSITION_CLOSED = "record_position_closed"
HALT_POSITION = "halt_position"
SET_INTENT_STATUS = "set_intent_status"
ENTRY_GATE = "entry_gate"
POSITION_STATE = "position_state"
RECORD_REBALANCE = "record_rebalance"

# venue queue: market and venues
CHECK_INTENT = "check_intent"
PREFLIGHT_OPEN = "preflight_open"
SET_LEVERAGE = "set_leverage"
OPEN_LONG = "open_long"
CLOSE_LONG = "close_long"
PLACE_HEDGE = "place_hedge"
HEDGE_FILL = "hedge_fill"
SHORT_STATE = "short_state"
SETTLE_CLOSE = "settle_close"
ADD_SHORT_MARGIN = "add_short_margin"
ADD_LONG_COLLATERAL = "add_long_collateral"
RECONCILE_USER = "reconcile_user"
USERS_WITH_POSITIONS = "users_with_positions"
SCAN_INTENTS = "scan_intents"
PLAN_MONITOR = "plan_monitor"
MONITOR_BATCH = "monitor_batch"


async def run(
    name: str,
    *args: Any,
    result_type: type[T],
    queue: str,
    timeout: timedelta,
    retry: RetryPolicy,
    schedule_to_close: timedelta | None = None,
    heartbeat: timedelta | None = None,
    summary: str | None = None,
) -> T:
    result: T = await workflow.execute_activity(
        name,
        args=list(args),
        task_queue=queue,
        result_type=result_type,
        start_to_close_timeout=timeout,
        schedule_to_close_timeout=schedule_to_close,
        heartbeat_timeout=heartbeat,
        retry_policy=retry,
        summary=summary,
    )
    return result
