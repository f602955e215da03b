"""The trading API over real workflows, the real ledger, and scripted venues."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api.conftest import TradingEnv
from tests.workflows.fakes import FakeWorld


@dataclass
class Env:
    api: httpx.AsyncClient
    world: FakeWorld
    user: dict[str, str]
    trading: TradingEnv


@pytest.fixture
async def env(trading: TradingEnv) -> Env:
    return Env(trading.api, trading.world, await trading.user(), trading)


def _intent(**kw: Any) -> dict[str, Any]:
    return {"asset": "jitoSOL", "leverage": "3", "capital_usd": "10000", **kw}


async def _until(
    fetch: Callable[[], Any], predicate: Callable[[dict[str, Any]], bool], timeout: float = 15
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        r = await fetch()
        body = r.json()
        if r.status_code == 200 and predicate(body):
            return body  # type: ignore[no-any-return]
        assert asyncio.get_running_loop().time() < deadline, body
        await asyncio.sleep(0.2)


async def test_an_immediate_open_goes_from_intent_to_an_open_hedged_position(env: Env) -> None:
    r = await env.api.post(
        "/api/v1/positions/open", json=_intent(execute_immediately=True), headers=env.user
    )
    assert r.status_code == 202, r.text
    intent = r.json()
    assert intent["workflow_id"] == f"intent-{intent['id']}"
    done = await _until(
        lambda: env.api.get(f"/api/v1/intents/{intent['id']}", headers=env.user),
        lambda b: b["status"] == "filled",
    )
    pos = (await env.api.get(f"/api/v1/positions/{done['position_id']}", headers=env.user)).json()
    assert pos["status"] == "open"
    assert {leg["side"]: leg["size"] for leg in pos["legs"]} == {"long": "150", "short": "150"}
    op = (await env.api.get(f"/api/v1/positions/{pos['id']}/operation", headers=env.user)).json()
    assert op["operation"] == "open"
    assert op["step"] == "open"
    listed = (await env.api.get("/api/v1/positions?status=open", headers=env.user)).json()
    assert [p["id"] for p in listed] == [pos["id"]]


async def test_submitting_the_same_intent_twice_returns_the_same_intent(env: Env) -> None:
    first = await env.api.post("/api/v1/intents", json=_intent(min_net_apy="0.5"), headers=env.user)
    second = await env.api.post(
        "/api/v1/intents", json=_intent(min_net_apy="0.5"), headers=env.user
    )
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    keyed = {**env.user, "Idempotency-Key": "client-key-0001"}
    a = await env.api.post("/api/v1/intents", json=_intent(min_net_apy="0.6"), headers=keyed)
    b = await env.api.post("/api/v1/intents", json=_intent(min_net_apy="0.6"), headers=keyed)
    assert a.json()["id"] == b.json()["id"]
    assert a.json()["id"] != first.json()["id"]


async def test_a_pending_intent_can_be_cancelled_and_cancelling_again_is_harmless(
    env: Env,
) -> None:
    created = (await env.api.post("/api/v1/intents", json=_intent(), headers=env.user)).json()
    r = await env.api.delete(f"/api/v1/intents/{created['id']}", headers=env.user)
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    again = await env.api.delete(f"/api/v1/intents/{created['id']}", headers=env.user)
    assert again.json()["status"] == "cancelled"
    pending = (await env.api.get("/api/v1/intents?status=pending", headers=env.user)).json()
    assert pending == []


async def test_leverage_and_size_outside_the_risk_limits_are_refused_by_name(env: Env) -> None:
    r = await env.api.post("/api/v1/intents", json=_intent(leverage="5"), headers=env.user)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "VAL-0005"
    assert r.json()["error"]["message"].startswith("leverage")
    r = await env.api.post("/api/v1/intents", json=_intent(capital_usd="50"), headers=env.user)
    assert r.json()["error"]["code"] == "RSK-0002"
    r = await env.api.post("/api/v1/intents", json=_intent(asset="DOGE"), headers=env.user)
    assert r.status_code == 422
    assert r.json()["error"]["details"]["errors"][0]["field"] == "asset"


async def test_another_users_intent_and_position_answer_not_found(env: Env) -> None:
    created = (await env.api.post("/api/v1/intents", json=_intent(), headers=env.user)).json()
    mallory = await env.trading.user()
    for method, path in (
        ("GET", f"/api/v1/intents/{created['id']}"),
        ("DELETE", f"/api/v1/intents/{created['id']}"),
        ("GET", f"/api/v1/positions/{uuid.uuid4()}"),
    ):
        r = await env.api.request(method, path, headers=mallory)
        assert r.status_code == 404, (method, path)
    assert (await env.api.get("/api/v1/intents", headers=mallory)).json() == []
    mine = await env.api.get(f"/api/v1/intents/{created['id']}", headers=env.user)
    assert mine.json()["status"] == "pending"


async def test_pause_blocks_new_entries_but_not_a_manual_close(env: Env) -> None:
    r = await env.api.post(
        "/api/v1/positions/open", json=_intent(execute_immediately=True), headers=env.user
    )
    done = await _until(
        lambda: env.api.get(f"/api/v1/intents/{r.json()['id']}", headers=env.user),
        lambda b: b["status"] == "filled",
    )
    await env.api.post("/api/v1/control/me/pause", json={"reason": "holiday"}, headers=env.user)
    blocked = await env.api.post(
        "/api/v1/positions/open",
        json=_intent(capital_usd="2000", execute_immediately=True),
        headers=env.user,
    )
    await asyncio.sleep(1.0)
    still = await env.api.get(f"/api/v1/intents/{blocked.json()['id']}", headers=env.user)
    assert still.json()["status"] == "pending"

    pid = done["position_id"]
    close = await env.api.post(f"/api/v1/positions/{pid}/close", json={}, headers=env.user)
    assert close.status_code == 202
    closed = await _until(
        lambda: env.api.get(f"/api/v1/positions/{pid}", headers=env.user),
        lambda b: b["status"] == "closed",
    )
    assert closed["realised_pnl"]["total"] is not None
    again = await env.api.post(f"/api/v1/positions/{pid}/close", json={}, headers=env.user)
    assert again.status_code == 200
    assert again.json()["workflow_id"] == f"close-{pid}"


async def test_closing_twice_at_once_starts_one_close(env: Env) -> None:
    r = await env.api.post(
        "/api/v1/positions/open", json=_intent(execute_immediately=True), headers=env.user
    )
    done = await _until(
        lambda: env.api.get(f"/api/v1/intents/{r.json()['id']}", headers=env.user),
        lambda b: b["status"] == "filled",
    )
    pid = done["position_id"]
    a, b = await asyncio.gather(
        env.api.post(f"/api/v1/positions/{pid}/close", json={}, headers=env.user),
        env.api.post(f"/api/v1/positions/{pid}/close", json={}, headers=env.user),
    )
    assert a.json()["workflow_id"] == b.json()["workflow_id"] == f"close-{pid}"
    await _until(
        lambda: env.api.get(f"/api/v1/positions/{pid}", headers=env.user),
        lambda body: body["status"] == "closed",
    )
    assert env.world.calls.count("close_long") == 1
