"""Opens the way the engine accepts them: the intent row the API writes, left executing the
position by ``IntentWorkflow`` (which does that just before it starts the open). Tests and the
replay recorder that start ``OpenPositionWorkflow`` themselves write this row first; without
it the engine refuses the open (activities/guard.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from basis.db import create_engine, session_factory
from models.domain import Asset, IntentStatus
from models.messages import EngineConfig, OpenPositionInput
from models.tables import Intent


async def executing_intent(
    database_url: str,
    user_id: uuid.UUID,
    position_id: uuid.UUID,
    *,
    asset: Asset,
    leverage: Decimal,
    capital_usd: Decimal,
    now: datetime,
    status: IntentStatus = IntentStatus.EXECUTING,
) -> uuid.UUID:
    intent = Intent(
        user_id=user_id,
        asset=asset,
        leverage=leverage,
        capital_usd=capital_usd,
        execute_immediately=True,
        status=status,
        position_id=position_id,
        created_at=now,
        updated_at=now,
    )
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as s, s.begin():
            s.add(intent)
    finally:
        await engine.dispose()
    return intent.id


async def authorised_open(
    database_url: str,
    user_id: uuid.UUID,
    *,
    asset: Asset,
    leverage: Decimal,
    capital_usd: Decimal,
    config: EngineConfig,
    now: datetime,
) -> OpenPositionInput:
    """A new position id, its executing intent in the database, and the open's input."""
    pid = uuid.uuid4()
    intent_id = await executing_intent(
        database_url,
        user_id,
        pid,
        asset=asset,
        leverage=leverage,
        capital_usd=capital_usd,
        now=now,
    )
    return OpenPositionInput(
        position_id=pid,
        user_id=user_id,
        asset=asset,
        leverage=leverage,
        capital_usd=capital_usd,
        intent_id=intent_id,
        config=config,
    )
