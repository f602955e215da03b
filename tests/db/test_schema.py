"""The schema on both databases: exact money, UTC time, append-only audit, migrations."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from basis.db import session_factory
from basis.migrate import current_revision, downgrade, head_revision, upgrade
from models.domain import Asset, IntentStatus, Protocol
from models.tables import AuditEvent, Intent, Position, User

NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


async def _user(engine: AsyncEngine) -> uuid.UUID:
    async with session_factory(engine)() as s, s.begin():
        u = User(email=f"{uuid.uuid4().hex}@example.com", created_at=NOW)
        s.add(u)
    return u.id


async def test_money_round_trips_exactly_to_18_decimal_places(db_engine: AsyncEngine) -> None:
    uid = await _user(db_engine)
    exact = Decimal("123456789012.123456789012345678")
    async with session_factory(db_engine)() as s, s.begin():
        s.add(
            Intent(
                user_id=uid,
                asset=Asset.JITOSOL,
                leverage=Decimal("3"),
                capital_usd=exact,
                min_net_apy=Decimal("0.000000000000000001"),
                created_at=NOW,
                updated_at=NOW,
            )
        )
    async with session_factory(db_engine)() as s:
        row = (await s.exec(select(Intent))).one()
        assert row is not None
        assert row.capital_usd == exact
        assert row.min_net_apy == Decimal("0.000000000000000001")
        assert row.asset is Asset.JITOSOL
        assert row.status is IntentStatus.PENDING


async def test_timestamps_come_back_timezone_aware_utc(db_engine: AsyncEngine) -> None:
    uid = await _user(db_engine)
    plus2 = timezone(timedelta(hours=2))
    async with session_factory(db_engine)() as s, s.begin():
        p = Position(
            user_id=uid,
            asset=Asset.SOL,
            protocol=Protocol.KAMINO,
            leverage=Decimal(3),
            capital_usd=Decimal(1000),
            opened_at=NOW.astimezone(plus2),
            created_at=NOW,
            updated_at=NOW,
        )
        s.add(p)
    async with session_factory(db_engine)() as s:
        row = await s.get(Position, p.id)
        assert row is not None
        assert row.opened_at == NOW
        assert row.opened_at is not None and row.opened_at.tzinfo is not None
        assert row.opened_at.utcoffset() == timedelta(0)
        assert row.protocol is Protocol.KAMINO


async def test_a_naive_timestamp_is_refused(db_engine: AsyncEngine) -> None:
    with pytest.raises(StatementError, match="naive datetime refused"):
        async with session_factory(db_engine)() as s, s.begin():
            s.add(User(email="naive@example.com", created_at=datetime(2026, 1, 1)))


async def test_a_float_is_refused_in_a_money_column(db_engine: AsyncEngine) -> None:
    uid = await _user(db_engine)
    with pytest.raises(StatementError, match="Decimal, not float"):
        async with session_factory(db_engine)() as s, s.begin():
            s.add(
                Intent(
                    user_id=uid,
                    asset=Asset.SOL,
                    leverage=Decimal(3),
                    capital_usd=0.1,  # type: ignore[arg-type]
                    created_at=NOW,
                    updated_at=NOW,
                )
            )


async def test_the_audit_log_refuses_updates_and_deletes(db_engine: AsyncEngine) -> None:
    async with session_factory(db_engine)() as s, s.begin():
        s.add(
            AuditEvent(
                occurred_at=NOW,
                actor="test",
                action="pause",
                entity_type="control",
                entity_id="global",
                details={"amount": Decimal("1.5")},
            )
        )
    for stmt in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises((DBAPIError, IntegrityError), match="append-only"):
            async with db_engine.begin() as conn:
                await conn.execute(text(stmt))
    async with db_engine.connect() as conn:
        actor = (await conn.execute(text("SELECT actor, details FROM audit_log"))).one()
    assert actor[0] == "test"


async def test_each_user_has_at_most_one_intent_per_client_key(db_engine: AsyncEngine) -> None:
    uid = await _user(db_engine)

    def intent() -> Intent:
        return Intent(
            user_id=uid,
            client_key="k1",
            asset=Asset.SOL,
            leverage=Decimal(3),
            capital_usd=Decimal(100),
            created_at=NOW,
            updated_at=NOW,
        )

    async with session_factory(db_engine)() as s, s.begin():
        s.add(intent())
    with pytest.raises(IntegrityError):
        async with session_factory(db_engine)() as s, s.begin():
            s.add(intent())


async def test_migrations_downgrade_to_nothing_and_back_to_head(db_engine: AsyncEngine) -> None:
    assert await current_revision(db_engine) == head_revision()
    await downgrade(db_engine, "base")
    assert await current_revision(db_engine) is None
    await upgrade(db_engine)
    assert await current_revision(db_engine) == head_revision()
