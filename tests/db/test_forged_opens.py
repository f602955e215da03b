"""The open's first activity makes the position row only for an intent the database holds,
owned by the named user, executing that very position, on the input's terms and within the
user's and the global limits. Anything else is refused for good and audited, on both
databases."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.exceptions import ApplicationError

from activities.guard import FORGED_INPUT, REFUSED_ACTION
from activities.ledger import LedgerActivities
from basis.db import session_factory
from models.domain import Asset, IntentStatus
from models.messages import OpenPositionInput
from models.risk import RiskParams
from models.tables import AuditEvent, Intent, Position, User, UserSettings

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


async def _world(
    engine: AsyncEngine, *, settings: dict[str, Any] | None = None, **intent: Any
) -> tuple[LedgerActivities, OpenPositionInput, uuid.UUID]:
    """Alice's executing intent and its honest open input; Bob's id for the forgeries."""
    sessions = session_factory(engine)
    async with sessions() as s, s.begin():
        alice, bob = User(created_at=T0), User(created_at=T0)
        s.add_all([alice, bob])
    pid = uuid.uuid4()
    terms: dict[str, Any] = {
        "asset": Asset.SOL,
        "leverage": Decimal(3),
        "capital_usd": Decimal(10_000),
        "status": IntentStatus.EXECUTING,
        "position_id": pid,
        **intent,
    }
    async with sessions() as s, s.begin():
        row = Intent(user_id=alice.id, created_at=T0, updated_at=T0, **terms)
        s.add(row)
        if settings is not None:
            s.add(UserSettings(user_id=alice.id, settings=settings, updated_at=T0))
    inp = OpenPositionInput(
        position_id=pid,
        user_id=alice.id,
        asset=Asset.SOL,
        leverage=Decimal(3),
        capital_usd=Decimal(10_000),
        intent_id=row.id,
    )
    return LedgerActivities(sessions, risk=RiskParams(), clock=lambda: T0), inp, bob.id


Forge = Callable[[OpenPositionInput, uuid.UUID], OpenPositionInput]

FORGERIES: dict[str, tuple[Forge, str]] = {
    "without an intent": (
        lambda i, _: i.model_copy(update={"intent_id": None}),
        "needs the intent",
    ),
    "with an intent that does not exist": (
        lambda i, _: i.model_copy(update={"intent_id": uuid.uuid4()}),
        "does not exist",
    ),
    "for another user's intent": (
        lambda i, bob: i.model_copy(update={"user_id": bob}),
        "is not user",
    ),
    "for another position than the intent executes": (
        lambda i, _: i.model_copy(update={"position_id": uuid.uuid4()}),
        "not executing position",
    ),
    "with more leverage than the intent": (
        lambda i, _: i.model_copy(update={"leverage": Decimal(4)}),
        "leverage 4 (the intent says 3",
    ),
    "with more capital than the intent": (
        lambda i, _: i.model_copy(update={"capital_usd": Decimal(500_000)}),
        "capital_usd 500000",
    ),
    "on another asset than the intent": (
        lambda i, _: i.model_copy(update={"asset": Asset.JITOSOL}),
        "asset jitoSOL",
    ),
}


@pytest.mark.parametrize("case", list(FORGERIES))
async def test_a_forged_open_makes_no_position_and_is_audited(
    db_engine: AsyncEngine, case: str
) -> None:
    ledger, honest, bob = await _world(db_engine)
    forge, why = FORGERIES[case]
    forged = forge(honest, bob)
    with pytest.raises(ApplicationError) as refused:
        await ledger.create_position(forged)
    assert refused.value.type == FORGED_INPUT
    assert refused.value.non_retryable
    assert why in str(refused.value)
    async with session_factory(db_engine)() as s:
        positions = (await s.exec(select(Position))).all()
        audit = (await s.exec(select(AuditEvent))).all()
    assert positions == []
    assert [(a.action, a.entity_id) for a in audit] == [(REFUSED_ACTION, str(forged.position_id))]
    assert why in audit[0].details["reason"]
    assert audit[0].details["claimed_user_id"] == str(forged.user_id)


LIMITS: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "above the user's max_leverage": ({"max_leverage": "2"}, {}, "max_leverage 2"),
    "above the user's max_capital_usd": ({"max_capital_usd": "5000"}, {}, "max_capital_usd"),
    "outside the user's allowed_assets": (
        {"allowed_assets": ["jitoSOL"]},
        {},
        "allowed_assets",
    ),
    "above the user's max_total_exposure_usd": (
        {"max_total_exposure_usd": "20000"},
        {},
        "max_total_exposure_usd",
    ),
    "above the global leverage limit": ({}, {"leverage": Decimal(10)}, "outside the global"),
    "above the global position limit": (
        {},
        {"capital_usd": Decimal(600_000)},
        "outside the global",
    ),
}


@pytest.mark.parametrize("case", list(LIMITS))
async def test_an_intent_beyond_the_limits_opens_nothing(db_engine: AsyncEngine, case: str) -> None:
    """An intent row that agrees with the input but breaks a limit (written before the user
    tightened a setting, or straight into the database) still opens nothing."""
    settings, terms, why = LIMITS[case]
    ledger, inp, _ = await _world(db_engine, settings=settings, **terms)
    inp = inp.model_copy(update={k: v for k, v in terms.items()})
    with pytest.raises(ApplicationError, match=why) as refused:
        await ledger.create_position(inp)
    assert refused.value.non_retryable
    async with session_factory(db_engine)() as s:
        assert (await s.exec(select(Position))).all() == []
        [event] = (await s.exec(select(AuditEvent))).all()
    assert event.action == REFUSED_ACTION
    assert event.user_id == inp.user_id


async def test_the_position_takes_its_terms_from_the_intent(db_engine: AsyncEngine) -> None:
    ledger, inp, _ = await _world(db_engine)
    await ledger.create_position(inp)
    await ledger.create_position(inp)  # a retry finds its row
    async with session_factory(db_engine)() as s:
        [p] = (await s.exec(select(Position))).all()
    assert (p.user_id, p.intent_id, p.asset, p.leverage, p.capital_usd) == (
        inp.user_id,
        inp.intent_id,
        Asset.SOL,
        Decimal(3),
        Decimal(10_000),
    )


async def test_a_finished_intent_cannot_open_again(db_engine: AsyncEngine) -> None:
    ledger, inp, _ = await _world(db_engine, status=IntentStatus.FILLED)
    with pytest.raises(ApplicationError, match="is filled"):
        await ledger.create_position(inp)
