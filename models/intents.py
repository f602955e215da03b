"""The intent workflow's input from an intent row (pure: the API starts the workflow with it,
the scan evaluates pending intents with it)."""

from __future__ import annotations

from models.messages import EngineConfig, IntentCriteria, IntentInput
from models.tables import Intent


def intent_input(row: Intent, cfg: EngineConfig) -> IntentInput:
    return IntentInput(
        intent_id=row.id,
        user_id=row.user_id,
        asset=row.asset,
        leverage=row.leverage,
        capital_usd=row.capital_usd,
        criteria=IntentCriteria(
            min_net_apy=row.min_net_apy,
            min_funding_rate=row.min_funding_rate,
            max_funding_volatility=row.max_funding_volatility,
            max_entry_price=row.max_entry_price,
        ),
        expires_at=row.expires_at,
        execute_immediately=row.execute_immediately,
        config=cfg,
    )
