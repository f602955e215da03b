"""Ledger activities on both databases: idempotent writes, leg sizes, statuses, audit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from activities.ledger import LedgerActivities
from basis.db import session_factory
from models.domain import Asset, IntentStatus, LegSide, LegStatus, PositionStatus, Venue
from models.messages import (
    CloseSettlement,
    IntentStatusChange,
    LegFill,
    OpenPositionInput,
    PnlSplit,
)
from models.risk import RiskParams
from models.tables import AuditEvent, Fill, Intent, Leg, Position, User

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


async def _setup(engine: AsyncEngine) -> tuple[LedgerActivities, OpenPositionInput]:
    sessions = session_factory(engine)
    async with sessions() as s, s.begin():
        u = User(email=f"{uuid.uuid4().hex}@x.io", created_at=T0)
        s.add(u)
    ledger = LedgerActivities(sessions, risk=RiskParams(), clock=lambda: T0)
    pid = uuid.uuid4()
    async with sessions() as s, s.begin():
        # The intent IntentWorkflow leaves executing this position: the open's only warrant.
        intent = Intent(
            user_id=u.id,
            asset=Asset.JITOSOL,
            leverage=Decimal(3),
            capital_usd=Decimal(10_000),
            status=IntentStatus.EXECUTING,
            position_id=pid,
            created_at=T0,
            updated_at=T0,
        )
        s.add(intent)
    inp = OpenPositionInput(
        position_id=pid,
        user_id=u.id,
        asset=Asset.JITOSOL,
        leverage=Decimal(3),
        capital_usd=Decimal(10_000),
        intent_id=intent.id,
    )
    return ledger, inp


def _fill(side: LegSide, size: str, price: str, ref: str, *, reduces: bool = False) -> LegFill:
    return LegFill(
        venue=Venue.ASGARD if side is LegSide.LONG else Venue.HYPERLIQUID,
        side=side,
        size=Decimal(size),
        avg_price=Decimal(price),
        notional_usd=Decimal(size) * Decimal(price),
        fee_usd=Decimal("1.5"),
        order_ref=ref,
        reduces=reduces,
        filled_at=T0,
    )


async def test_creating_a_position_twice_leaves_one_position_with_two_legs(
    db_engine: AsyncEngine,
) -> None:
    ledger, inp = await _setup(db_engine)
    await ledger.create_position(inp)
    await ledger.create_position(inp)
    async with session_factory(db_engine)() as s:
        assert len((await s.exec(select(Position))).all()) == 1
        legs = (await s.exec(select(Leg))).all()
    assert sorted(leg.side for leg in legs) == ["long", "short"]


async def test_a_fill_recorded_twice_counts_once_and_moves_the_leg_size_once(
    db_engine: AsyncEngine,
) -> None:
    ledger, inp = await _setup(db_engine)
    await ledger.create_position(inp)
    f = _fill(LegSide.SHORT, "75.5", "150", "0xabc")
    await ledger.record_leg_fills(inp.position_id, [f])
    await ledger.record_leg_fills(inp.position_id, [f])
    await ledger.record_leg_fills(inp.position_id, [_fill(LegSide.SHORT, "24.5", "150", "0xdef")])
    async with session_factory(db_engine)() as s:
        fills = (await s.exec(select(Fill))).all()
        short = (await s.exec(select(Leg).where(Leg.side == LegSide.SHORT))).one()
    assert len(fills) == 2
    assert {f.side for f in fills} == {"sell"}
    assert short.size == Decimal("100.0")
    assert short.status is LegStatus.OPEN


async def test_a_full_open_and_close_leaves_an_exact_pnl_split_and_an_audit_trail(
    db_engine: AsyncEngine,
) -> None:
    ledger, inp = await _setup(db_engine)
    await ledger.create_position(inp)
    long = _fill(LegSide.LONG, "85.2", "176.05", "sig1")
    short = _fill(LegSide.SHORT, "100.00", "150", "0x1")
    await ledger.record_leg_fills(inp.position_id, [long, short])
    await ledger.record_position_open(inp.position_id, long, short)
    await ledger.record_position_open(inp.position_id, long, short)

    start = await ledger.begin_close(inp.position_id, "funding_flip", "monitor", inp.user_id)
    assert start.status is PositionStatus.CLOSING
    assert start.short_size == Decimal("100.00")
    again = await ledger.begin_close(inp.position_id, "user_request", "user", inp.user_id)
    assert again.status is PositionStatus.CLOSING

    buy = _fill(LegSide.SHORT, "100.00", "149", "0x2", reduces=True)
    await ledger.record_leg_fills(inp.position_id, [buy])
    pnl = PnlSplit(
        funding=Decimal("41.10"),
        staking=Decimal("8.02"),
        lending=Decimal("1.01"),
        borrow=Decimal("-20.50"),
        price=Decimal("-3.25"),
        fees=Decimal("-14.02"),
        total=Decimal("12.36"),
    )
    await ledger.record_position_closed(
        inp.position_id, CloseSettlement(exit_price=Decimal("175"), pnl=pnl), "funding_flip"
    )
    async with session_factory(db_engine)() as s:
        p = await s.get(Position, inp.position_id)
        audit = [
            a.action for a in (await s.exec(select(AuditEvent).order_by(col(AuditEvent.id)))).all()
        ]
        buys = (await s.exec(select(Fill).where(Fill.side == "buy"))).all()
    assert p is not None
    assert p.status is PositionStatus.CLOSED
    assert p.realised_pnl_usd == Decimal("12.36")
    assert p.pnl_funding_usd == Decimal("41.10")
    assert p.close_reason == "funding_flip"
    assert len(buys) == 2  # the long's opening buy and the short's buy-back
    assert audit == ["position_opening", "position_opened", "close_requested", "position_closed"]


async def test_a_halted_position_keeps_its_reason(db_engine: AsyncEngine) -> None:
    ledger, inp = await _setup(db_engine)
    await ledger.create_position(inp)
    await ledger.halt_position(inp.position_id, "Hyperliquid holds 0 SOL short, expected 10")
    async with session_factory(db_engine)() as s:
        p = await s.get(Position, inp.position_id)
    assert p is not None
    assert p.status is PositionStatus.HALTED
    assert p.halt_reason is not None and "expected 10" in p.halt_reason
    start = await ledger.begin_close(inp.position_id, "user", "user", inp.user_id)
    assert start.status is PositionStatus.HALTED


async def test_a_terminal_intent_is_never_moved_again(db_engine: AsyncEngine) -> None:
    ledger, inp = await _setup(db_engine)
    async with session_factory(db_engine)() as s, s.begin():
        intent = Intent(
            user_id=inp.user_id,
            asset=Asset.SOL,
            leverage=Decimal(3),
            capital_usd=Decimal(1000),
            created_at=T0,
            updated_at=T0,
        )
        s.add(intent)
    await ledger.set_intent_status(
        IntentStatusChange(intent_id=intent.id, status=IntentStatus.CANCELLED)
    )
    await ledger.set_intent_status(
        IntentStatusChange(intent_id=intent.id, status=IntentStatus.EXECUTING)
    )
    async with session_factory(db_engine)() as s:
        row = await s.get(Intent, intent.id)
        audit = (
            await s.exec(select(AuditEvent).where(AuditEvent.entity_id == str(intent.id)))
        ).all()
    assert row is not None
    assert row.status is IntentStatus.CANCELLED
    assert [a.action for a in audit] == ["intent_cancelled"]
