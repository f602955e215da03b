"""Issue-level end to end: intents, opens, monitoring and closes through the real clients,
the real emulators over the market simulator, the real worker and the real Temporal server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from basis.db import create_engine, session_factory
from models.tables import PositionSnapshot
from tests.e2e.paper import Paper, paper_world
from wallets.keystore import UserWallets

pytestmark = [pytest.mark.e2e]


@pytest.fixture
async def paper(
    temporal_env: WorkflowEnvironment, sqlite_url: str, task_queue: str
) -> AsyncIterator[Paper]:
    async with paper_world(temporal_env.client, sqlite_url, task_queue) as world:
        yield world


def _intent(**kw: Any) -> dict[str, Any]:
    return {"asset": "SOL", "leverage": "3", "capital_usd": "10000", **kw}


async def _settled(paper: Paper, user: dict[str, str], intent_id: str) -> dict[str, Any]:
    return await paper.until(
        f"/api/v1/intents/{intent_id}",
        user,
        lambda b: b["status"] not in ("pending", "executing"),
    )


async def _open_now(paper: Paper, user: dict[str, str], **kw: Any) -> dict[str, Any]:
    r = await paper.api.post(
        "/api/v1/positions/open", json=_intent(execute_immediately=True, **kw), headers=user
    )
    assert r.status_code == 202, r.text
    intent = await _settled(paper, user, r.json()["id"])
    assert intent["status"] == "filled", intent
    return await paper.until(
        f"/api/v1/positions/{intent['position_id']}", user, lambda b: b["status"] == "open"
    )


async def _closed(paper: Paper, user: dict[str, str], pid: str) -> dict[str, Any]:
    return await paper.until(
        f"/api/v1/positions/{pid}", user, lambda b: b["status"] in ("closed", "halted")
    )


async def _wallets(paper: Paper, user: dict[str, str]) -> UserWallets:
    me = await paper.me(user)
    return UserWallets(uuid.UUID(me["id"]), me["wallets"]["solana"], me["wallets"]["evm"])


async def _venue_positions(paper: Paper, user: dict[str, str]) -> tuple[Decimal, list[Any]]:
    """(Hyperliquid SOL size, Asgard position records) of the user, as the venues hold them."""
    w = await _wallets(paper, user)
    hl = (await paper.hl_admin.get(f"/admin/accounts/{w.evm_address}")).json()
    sol = hl.get("positions", {}).get("SOL")
    size = Decimal(str(sol["szi"])) if sol else Decimal(0)
    asg = (await paper.asgard_admin.get(f"/admin/wallets/{w.solana_address}")).json()
    return size, asg.get("positions", [])


def _parts_sum(pnl: dict[str, str]) -> bool:
    parts = ("funding", "staking", "lending", "borrow", "price", "fees")
    return sum(Decimal(pnl[k]) for k in parts) == Decimal(pnl["total"])


async def test_a_user_close_buys_back_the_short_closes_the_long_and_splits_the_pnl(
    paper: Paper,
) -> None:
    user = await paper.new_user()
    pos = await _open_now(paper, user)
    legs = {leg["side"]: leg for leg in pos["legs"]}
    assert abs(Decimal(legs["long"]["size"]) - Decimal(legs["short"]["size"])) <= Decimal("0.01")
    await paper.advance(3 * 3600)  # three hours of funding, interest and lending
    r = await paper.api.post(f"/api/v1/positions/{pos['id']}/close", json={}, headers=user)
    assert r.status_code == 202
    closed = await _closed(paper, user, pos["id"])
    assert closed["status"] == "closed"
    pnl = closed["realised_pnl"]
    assert Decimal(pnl["funding"]) > 0  # calm market: the short is paid
    assert Decimal(pnl["borrow"]) < 0
    assert Decimal(pnl["fees"]) < 0
    assert _parts_sum(pnl)
    hl_size, asgard = await _venue_positions(paper, user)
    assert hl_size == 0
    assert [p["state"] for p in asgard] == [1]  # one position, closed


async def test_an_intent_waits_and_fills_when_simulated_funding_crosses_its_threshold(
    paper: Paper,
) -> None:
    user = await paper.new_user()
    r = await paper.api.post(
        "/api/v1/intents",
        # A jump in funding is volatile by definition: this user accepts it.
        json=_intent(min_funding_rate="0.0002", max_funding_volatility="10"),
        headers=user,
    )
    intent = r.json()
    report = await paper.scan()
    assert report.evaluated >= 1
    assert report.woken == 0
    assert report.skipped.get("funding_below_min", 0) >= 1
    still = (await paper.api.get(f"/api/v1/intents/{intent['id']}", headers=user)).json()
    assert still["status"] == "pending"

    await paper.market("funding", rate="0.0003")
    await paper.advance(3600)  # the next hourly settlement pays the new rate
    report = await paper.scan()
    assert report.woken == 1
    done = await _settled(paper, user, intent["id"])
    assert done["status"] == "filled"


async def test_the_monitor_watches_the_position_and_closes_it_on_a_funding_flip(
    paper: Paper,
) -> None:
    user = await paper.new_user()
    pos = await _open_now(paper, user)
    calm = await paper.monitor()
    assert calm.evaluated == calm.positions == 1
    assert calm.exits_started == 0
    engine = create_engine(paper.settings.database_url)
    async with session_factory(engine)() as s:
        snaps = (await s.exec(select(PositionSnapshot))).all()
    await engine.dispose()
    assert [str(x.position_id) for x in snaps] == [pos["id"]]
    assert snaps[0].decision == "hold"

    await paper.market("funding", rate="-0.0002")
    await paper.advance(3600)
    early = await paper.monitor()  # one adverse hour: patience holds the position
    assert early.exits_started == 0
    await paper.advance(4 * 3600)
    flipped = await paper.monitor()
    assert flipped.exits_started == 1
    closed = await _closed(paper, user, pos["id"])
    assert closed["status"] == "closed"
    assert closed["close_reason"] == "funding_flip"
    assert _parts_sum(closed["realised_pnl"])


async def test_a_position_on_marginfi_protocol_zero_is_recorded_and_monitored_on_marginfi(
    paper: Paper,
) -> None:
    # Marginfi is Asgard's protocol 0: the one number a careless truth test loses.
    for protocol in (1, 2, 3):
        await paper.market("borrow", protocol=protocol, apy="0.40")
    await paper.market("borrow", protocol=0, apy="0.01")
    user = await paper.new_user()
    pos = await _open_now(paper, user)
    assert pos["protocol"] == 0
    report = await paper.monitor()
    assert (report.positions, report.evaluated, report.errors) == (1, 1, 0)


async def test_a_crash_breaches_the_health_factor_and_the_monitor_exits_urgently(
    paper: Paper,
) -> None:
    user = await paper.new_user()
    pos = await _open_now(paper, user)
    market = (await paper.asgard_admin.get("/admin/market")).json()
    crashed = (Decimal(market["sol_price"]) * Decimal("0.78")).quantize(Decimal("0.01"))
    await paper.market("price", price=str(crashed), hold=True)
    await paper.advance(5)  # the chain's next slots see the new price
    report = await paper.monitor()
    assert report.exits_started == 1
    closed = await _closed(paper, user, pos["id"])
    assert closed["status"] == "closed"
    assert closed["close_reason"].startswith("health_")
    hl_size, asgard = await _venue_positions(paper, user)
    assert hl_size == 0
    assert asgard[0]["state"] == 1  # closed by us, not liquidated


async def test_a_hedge_the_venue_rejects_unwinds_the_long(paper: Paper) -> None:
    user = await paper.new_user()
    await paper.fault("hyperliquid", kind="logical_error", match="exchange:order", count=1)
    r = await paper.api.post(
        "/api/v1/positions/open", json=_intent(execute_immediately=True), headers=user
    )
    intent = await _settled(paper, user, r.json()["id"])
    assert intent["status"] == "failed"
    assert "Insufficient margin" in intent["failure_reason"]
    pos = (await paper.api.get(f"/api/v1/positions/{intent['position_id']}", headers=user)).json()
    assert pos["status"] == "failed"
    hl_size, asgard = await _venue_positions(paper, user)
    assert hl_size == 0
    # The long was opened, then closed: one record, closed; nothing naked left.
    assert [p["state"] for p in asgard] == [1]


async def test_pause_blocks_new_entries_but_a_manual_close_still_works(paper: Paper) -> None:
    user = await paper.new_user()
    pos = await _open_now(paper, user)
    ops = await paper.operator()
    r = await paper.api.post("/api/v1/control/pause", json={"reason": "maintenance"}, headers=ops)
    assert r.status_code == 200
    try:
        blocked = await paper.api.post(
            "/api/v1/positions/open",
            json=_intent(capital_usd="2000", execute_immediately=True),
            headers=user,
        )
        await asyncio.sleep(1.5)
        again = (
            await paper.api.get(f"/api/v1/intents/{blocked.json()['id']}", headers=user)
        ).json()
        assert again["status"] == "pending"
        await paper.api.post(f"/api/v1/positions/{pos['id']}/close", json={}, headers=user)
        closed = await _closed(paper, user, pos["id"])
        assert closed["status"] == "closed"
    finally:
        await paper.api.post("/api/v1/control/resume", json={}, headers=ops)


async def test_a_double_close_is_one_close_on_the_venues(paper: Paper) -> None:
    user = await paper.new_user()
    pos = await _open_now(paper, user)
    a, b = await asyncio.gather(
        paper.api.post(f"/api/v1/positions/{pos['id']}/close", json={}, headers=user),
        paper.api.post(f"/api/v1/positions/{pos['id']}/close", json={}, headers=user),
    )
    assert a.json()["workflow_id"] == b.json()["workflow_id"]
    await _closed(paper, user, pos["id"])
    hl_size, asgard = await _venue_positions(paper, user)
    assert hl_size == 0
    assert len(asgard) == 1


async def test_an_emergency_stop_closes_every_open_position_and_blocks_entries(
    paper: Paper,
) -> None:
    alice, bob = await paper.new_user(), await paper.new_user()
    a = await _open_now(paper, alice)
    b = await _open_now(paper, bob, asset="jitoSOL", capital_usd="4000")
    ops = await paper.operator()
    r = await paper.api.post(
        "/api/v1/control/emergency-stop", json={"reason": "drill"}, headers=ops
    )
    assert r.status_code == 200, r.text
    assert r.json()["emergency_stop"] is True
    try:
        for user, pos in ((alice, a), (bob, b)):
            closed = await _closed(paper, user, pos["id"])
            assert closed["status"] == "closed"
            assert closed["close_reason"] == "emergency_stop: drill"
        blocked = await paper.api.post(
            "/api/v1/positions/open",
            json=_intent(capital_usd="3000", execute_immediately=True),
            headers=alice,
        )
        assert blocked.status_code == 202
        await asyncio.sleep(1.0)
        again = await paper.api.get(f"/api/v1/intents/{blocked.json()['id']}", headers=alice)
        assert again.json()["status"] == "pending"
    finally:
        await paper.api.post("/api/v1/control/resume", json={}, headers=ops)
