"""Each venue activity checks its input against the database before it touches a venue: the
venue objects here fail the test if they are reached at all. Refusals are non-retryable and
audited; the honest call goes through to the venue."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.exceptions import ApplicationError

from activities.guard import FORGED_INPUT, REFUSED_ACTION
from activities.ledger import LedgerActivities
from activities.legs import LegActivities
from basis.config import load_settings
from basis.db import session_factory
from models.domain import Asset, IntentStatus, PositionStatus, Protocol
from models.messages import CloseLongRequest, HedgeRequest, OpenLongRequest, OpenPositionInput
from models.risk import RiskParams
from models.tables import AuditEvent, Intent, Position, User

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


class ReachedTheVenue(AssertionError):
    pass


class Untouchable:
    """A venue client, wallet provider or store that must not be used."""

    def __getattr__(self, name: str) -> Any:
        raise ReachedTheVenue(name)


async def _opening(engine: AsyncEngine) -> tuple[LegActivities, uuid.UUID, uuid.UUID, uuid.UUID]:
    """Alice's position being opened (SOL, 3x on 10,000 USD); Bob's id."""
    sessions = session_factory(engine)
    async with sessions() as s, s.begin():
        alice, bob = User(created_at=T0), User(created_at=T0)
        s.add_all([alice, bob])
    pid = uuid.uuid4()
    async with sessions() as s, s.begin():
        intent = Intent(
            user_id=alice.id,
            asset=Asset.SOL,
            leverage=Decimal(3),
            capital_usd=Decimal(10_000),
            status=IntentStatus.EXECUTING,
            position_id=pid,
            created_at=T0,
            updated_at=T0,
        )
        s.add(intent)
    await LedgerActivities(sessions, risk=RiskParams(), clock=lambda: T0).create_position(
        OpenPositionInput(
            position_id=pid,
            user_id=alice.id,
            asset=Asset.SOL,
            leverage=Decimal(3),
            capital_usd=Decimal(10_000),
            intent_id=intent.id,
        )
    )
    nowhere = cast(Any, Untouchable())
    legs = LegActivities(
        settings=load_settings(),
        hyperliquid=nowhere,
        asgard=nowhere,
        rpc=nowhere,
        store=nowhere,
        wallets=nowhere,
        market=nowhere,
        sessions=sessions,
        clock=lambda: T0,
    )
    return legs, pid, alice.id, bob.id


Call = Callable[[LegActivities, uuid.UUID, uuid.UUID, uuid.UUID], Awaitable[object]]


def _long(pid: uuid.UUID, user: uuid.UUID, **kw: Any) -> OpenLongRequest:
    terms: dict[str, Any] = {
        "asset": Asset.SOL,
        "protocol": Protocol.KAMINO,
        "collateral": Decimal(5000),
        "leverage": Decimal(3),
        "max_slippage_bps": 30,
        **kw,
    }
    return OpenLongRequest(position_id=pid, user_id=user, **terms)


def _hedge(
    pid: uuid.UUID, user: uuid.UUID, size: str, *, reduce_only: bool = False
) -> HedgeRequest:
    return HedgeRequest(
        position_id=pid,
        user_id=user,
        size=Decimal(size),
        reference_price=Decimal(100),
        max_slippage_bps=30,
        attempt=1,
        reduce_only=reduce_only,
    )


FORGED: dict[str, tuple[Call, str]] = {
    "leverage for another user's position": (
        lambda a, pid, alice, bob: a.set_leverage(bob, 3, pid),
        "is not user",
    ),
    "leverage naming no position": (
        lambda a, pid, alice, bob: a.set_leverage(alice, 3),
        "names no position",
    ),
    "leverage above the position's": (
        lambda a, pid, alice, bob: a.set_leverage(alice, 5, pid),
        "leverage 5 above",
    ),
    "leverage for a position that does not exist": (
        lambda a, pid, alice, bob: a.set_leverage(alice, 3, uuid.uuid4()),
        "does not exist",
    ),
    "a long for another user": (
        lambda a, pid, alice, bob: a.open_long(_long(pid, bob)),
        "is not user",
    ),
    "a long on another asset": (
        lambda a, pid, alice, bob: a.open_long(_long(pid, alice, asset=Asset.JITOSOL)),
        "asset jitoSOL",
    ),
    "a long at more leverage": (
        lambda a, pid, alice, bob: a.open_long(_long(pid, alice, leverage=Decimal(4))),
        "the position is 3",
    ),
    "a long with more collateral than the capital": (
        lambda a, pid, alice, bob: a.open_long(_long(pid, alice, collateral=Decimal(250_000))),
        "collateral 250000",
    ),
    "a short bigger than the capital hedges": (
        lambda a, pid, alice, bob: a.place_hedge(_hedge(pid, alice, "1000")),
        "hedges at most",
    ),
    "a short for another user": (
        lambda a, pid, alice, bob: a.place_hedge(_hedge(pid, bob, "10")),
        "is not user",
    ),
    "a buy-back of a short the database does not hold": (
        lambda a, pid, alice, bob: a.place_hedge(_hedge(pid, alice, "5", reduce_only=True)),
        "the position's short is 0",
    ),
    "margin for a position not open": (
        lambda a, pid, alice, bob: a.add_short_margin(alice, Decimal(100), pid),
        "is opening",
    ),
    "margin naming no position": (
        lambda a, pid, alice, bob: a.add_short_margin(alice, Decimal(100)),
        "names no position",
    ),
    "a repayment for a position not open": (
        lambda a, pid, alice, bob: a.add_long_collateral(pid, alice, Decimal(100), "k"),
        "is opening",
    ),
    "closing another user's long": (
        lambda a, pid, alice, bob: a.close_long(
            CloseLongRequest(position_id=pid, user_id=bob, asset=Asset.SOL, max_slippage_bps=30)
        ),
        "is not user",
    ),
}


@pytest.mark.parametrize("case", list(FORGED))
async def test_a_forged_venue_call_is_refused_before_any_venue(
    db_engine: AsyncEngine, case: str
) -> None:
    legs, pid, alice, bob = await _opening(db_engine)
    call, why = FORGED[case]
    with pytest.raises(ApplicationError) as refused:
        await call(legs, pid, alice, bob)
    assert (refused.value.type, refused.value.non_retryable) == (FORGED_INPUT, True)
    assert why in str(refused.value)
    async with session_factory(db_engine)() as s:
        events = (await s.exec(select(AuditEvent).where(AuditEvent.action == REFUSED_ACTION))).all()
    assert len(events) == 1 and why in events[0].details["reason"]


HONEST: dict[str, Call] = {
    "the position's leverage": lambda a, pid, alice, bob: a.set_leverage(alice, 3, pid),
    "the long on the position's terms": lambda a, pid, alice, bob: a.open_long(_long(pid, alice)),
    "a hedge inside the capital": lambda a, pid, alice, bob: a.place_hedge(
        _hedge(pid, alice, "150")
    ),
    "closing the owner's long": lambda a, pid, alice, bob: a.close_long(
        CloseLongRequest(position_id=pid, user_id=alice, asset=Asset.SOL, max_slippage_bps=30)
    ),
}


@pytest.mark.parametrize("case", list(HONEST))
async def test_an_honest_venue_call_passes_the_guard(db_engine: AsyncEngine, case: str) -> None:
    legs, pid, alice, bob = await _opening(db_engine)
    with pytest.raises(ReachedTheVenue):
        await HONEST[case](legs, pid, alice, bob)


@pytest.mark.parametrize("who", ["another user", "no user", "a position that does not exist"])
async def test_a_close_or_rebalance_around_the_api_moves_no_position(
    db_engine: AsyncEngine, who: str
) -> None:
    """The close's and the rebalance's first activities: a forged one cannot even mark the
    position closing (which would end in a halt when the venue disagrees)."""
    _, pid, alice, bob = await _opening(db_engine)
    sessions = session_factory(db_engine)
    ledger = LedgerActivities(sessions, risk=RiskParams(), clock=lambda: T0)
    target, user = {
        "another user": (pid, bob),
        "no user": (pid, None),
        "a position that does not exist": (uuid.uuid4(), alice),
    }[who]
    for call in (
        ledger.begin_close(target, "forged", "nobody", user),
        ledger.position_state(target, user),
    ):
        with pytest.raises(ApplicationError) as refused:
            await call
        assert (refused.value.type, refused.value.non_retryable) == (FORGED_INPUT, True)
    async with sessions() as s:
        p = await s.get(Position, pid)
        events = (await s.exec(select(AuditEvent).where(AuditEvent.action == REFUSED_ACTION))).all()
    assert p is not None and p.status is PositionStatus.OPENING
    assert [e.details["activity"] for e in events] == ["begin_close", "position_state"]
