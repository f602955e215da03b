"""The per-user event stream: what it carries, resuming, and ending when the session ends."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from models.tables import MarketSnapshotRecord, PositionSnapshot
from tests.api.conftest import TradingEnv
from tests.unit.strategy.builders import snapshot

V1 = "/api/v1"


def parse(text: str) -> list[dict[str, Any]]:
    """The events of a stream body: each with its ``id`` when it had one."""
    out = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, _, value = line.partition(": ")
            fields[key] = value
        if "data" in fields:
            event = json.loads(fields["data"])
            assert event["type"] == fields["event"]
            event["_id"] = fields.get("id")
            out.append(event)
    return out


async def stream_while(
    env: TradingEnv,
    headers: dict[str, str],
    act: Callable[[], Awaitable[None]] | None = None,
    seconds: float = 1.5,
) -> tuple[httpx.Response, list[dict[str, Any]]]:
    env.settings.api.events.max_stream_seconds = seconds
    env.settings.api.events.poll_seconds = 0.05
    before = sum(env.app.state.streams.values())
    task = asyncio.create_task(env.api.get(f"{V1}/events", headers=headers))
    # Act once the stream is open on the server (a fixed pause loses the race on a loaded
    # machine), then give it a few polls to settle.
    for _ in range(200):
        if sum(env.app.state.streams.values()) > before or task.done():
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    if act is not None:
        await act()
    r = await task
    return r, parse(r.text)


async def _open(env: TradingEnv, user: dict[str, str]) -> str:
    r = await env.api.post(
        f"{V1}/positions/open",
        json={"asset": "SOL", "capital_usd": "3000", "execute_immediately": True},
        headers=user,
    )
    for _ in range(100):
        body = (await env.api.get(f"{V1}/intents/{r.json()['id']}", headers=user)).json()
        if body["status"] == "filled":
            return str(body["position_id"])
        await asyncio.sleep(0.1)
    raise AssertionError("the position did not open")


async def test_a_stream_carries_the_users_position_lifecycle_and_resumes_from_an_id(
    trading: TradingEnv,
) -> None:
    user = await trading.user()
    pid: list[str] = []

    async def open_and_close() -> None:
        pid.append(await _open(trading, user))
        await trading.api.post(f"{V1}/positions/{pid[0]}/close", json={}, headers=user)
        for _ in range(100):
            got = await trading.api.get(f"{V1}/positions/{pid[0]}", headers=user)
            if got.json()["status"] == "closed":
                return
            await asyncio.sleep(0.1)

    r, events = await stream_while(trading, user, open_and_close, seconds=4)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["cache-control"] == "no-cache"
    kinds = [e["type"] for e in events]
    assert kinds[0] == "bot_status"
    assert events[0]["entries_paused"] is False
    assert "balance_update" in kinds
    opened = next(e for e in events if e["type"] == "position_opened")
    closed = next(e for e in events if e["type"] == "position_closed")
    assert opened["position_id"] == closed["position_id"] == pid[0]
    assert kinds.index("position_opened") < kinds.index("position_closed")
    updates = {e["action"] for e in events if e["type"] == "position_update"}
    assert {"intent_executing", "position_opening", "close_requested"} <= updates

    # Resuming after the "opened" event delivers what followed, and not the event itself.
    resume = opened["_id"]
    trading.settings.api.events.max_stream_seconds = 0.3
    again = await trading.api.get(f"{V1}/events", headers={**user, "Last-Event-ID": resume})
    later = parse(again.text)
    assert not any(e["type"] == "position_opened" for e in later)
    assert any(e["type"] == "position_closed" for e in later)


async def test_a_stream_carries_snapshots_rates_pause_state_and_pings(
    trading: TradingEnv,
) -> None:
    user = await trading.user()
    pid = await _open(trading, user)
    trading.settings.api.events.ping_seconds = 0.2
    sessions = trading.app.state.sessions
    at = datetime.now(UTC)

    async def happenings() -> None:
        async with sessions() as s, s.begin():
            s.add(
                PositionSnapshot(
                    position_id=uuid.UUID(pid),
                    taken_at=at,
                    sol_price=Decimal("101"),
                    long_value_usd=Decimal("9000"),
                    short_value_usd=Decimal("9000"),
                    health_factor=Decimal("0.4"),
                    delta_usd=Decimal("3"),
                    decision="hold",
                )
            )
            s.add(
                MarketSnapshotRecord(
                    id=f"ms-{uuid.uuid4().hex}",
                    taken_at=at,
                    data=snapshot(at=at).model_dump(mode="json"),
                )
            )
        await trading.api.post(f"{V1}/control/me/pause", json={"reason": "lunch"}, headers=user)
        await asyncio.sleep(0.6)

    _, events = await stream_while(trading, user, happenings, seconds=2)
    snap = next(e for e in events if e["type"] == "position_update" and e["action"] == "snapshot")
    assert (snap["position_id"], snap["sol_price"], snap["decision"]) == (pid, "101", "hold")
    rate = next(e for e in events if e["type"] == "rate_update")
    assert rate["sol_price"] == "150"
    assert rate["best"]["asset"] in ("SOL", "jitoSOL")
    paused = [e for e in events if e["type"] == "bot_status"][-1]
    assert paused["entries_paused"] is True
    assert paused["account"] == {"paused": True, "reason": "lunch"}
    assert any(e["type"] == "ping" for e in events)


async def test_signing_out_ends_the_stream_with_an_error_event(trading: TradingEnv) -> None:
    who = await trading.signed_in()

    async def sign_out() -> None:
        await trading.api.post(f"{V1}/auth/logout", headers=who.headers())

    r, events = await stream_while(trading, who.headers(csrf=False), sign_out, seconds=30)
    assert events[-1]["type"] == "error"
    assert events[-1]["code"] == "AUT-0002"
    assert r.elapsed.total_seconds() < 10


async def test_open_streams_per_user_are_capped(trading: TradingEnv) -> None:
    user = await trading.user()
    trading.settings.api.events.max_streams_per_user = 1

    async def second() -> None:
        r = await trading.api.get(f"{V1}/events", headers=user)
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "GEN-0007"
        other = await trading.user()
        trading.settings.api.events.max_stream_seconds = 0.2
        assert (await trading.api.get(f"{V1}/events", headers=other)).status_code == 200

    first, _ = await stream_while(trading, user, second, seconds=1)
    assert first.status_code == 200
    bad = await trading.api.get(f"{V1}/events", headers={**user, "Last-Event-ID": "x; drop"})
    assert bad.status_code == 422
