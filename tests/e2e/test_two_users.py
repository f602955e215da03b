"""The issue's done-when on the real stack pieces: two people sign in with one-time codes,
each gets wallets and paper money, opens a position and leaves an intent pending, and each
sees and acts on only their own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api.conftest import sign_in
from tests.e2e.paper import Paper, paper_world

pytestmark = [pytest.mark.e2e]
V1 = "/api/v1"


@pytest.fixture
async def paper(
    temporal_env: WorkflowEnvironment, sqlite_url: str, task_queue: str
) -> AsyncIterator[Paper]:
    async with paper_world(temporal_env.client, sqlite_url, task_queue) as world:
        yield world


async def _open(paper: Paper, who: dict[str, str], capital: str) -> str:
    r = await paper.api.post(
        f"{V1}/positions/open",
        json={"asset": "SOL", "capital_usd": capital, "execute_immediately": True},
        headers=who,
    )
    assert r.status_code == 202, r.text
    done = await paper.until(
        f"{V1}/intents/{r.json()['id']}", who, lambda b: b["status"] == "filled"
    )
    return str(done["position_id"])


async def test_two_users_each_see_and_act_on_only_their_own(paper: Paper) -> None:
    alice_session = await sign_in(paper.api, paper.codes, "alice@example.com")
    bob_session = await sign_in(paper.api, paper.codes, "bob@example.com")
    assert alice_session.user["wallets"] != bob_session.user["wallets"]
    alice = alice_session.headers()
    bob = bob_session.headers()
    for who in (alice, bob):
        funds = (await paper.api.get(f"{V1}/balances", headers=who)).json()
        assert (funds["solana"]["usdc"], funds["hyperliquid"]["withdrawable_usd"]) == (
            "100000",
            "100000",
        )

    a_pos, b_pos = await asyncio.gather(_open(paper, alice, "6000"), _open(paper, bob, "4000"))
    waiting = {"asset": "jitoSOL", "capital_usd": "2000", "min_net_apy": "0.9"}
    a_intent = (await paper.api.post(f"{V1}/intents", json=waiting, headers=alice)).json()["id"]

    for who, pos, other in ((alice, a_pos, b_pos), (bob, b_pos, a_pos)):
        listed = (await paper.api.get(f"{V1}/positions", headers=who)).json()
        assert [p["id"] for p in listed] == [pos]
        assert (await paper.api.get(f"{V1}/positions/{other}", headers=who)).status_code == 404
    assert [
        i["id"] for i in (await paper.api.get(f"{V1}/intents?status=pending", headers=bob)).json()
    ] == []

    # Bob cannot close Alice's position or cancel her intent; both stay as they were.
    assert (
        await paper.api.post(f"{V1}/positions/{a_pos}/close", json={}, headers=bob)
    ).status_code == 404
    assert (await paper.api.delete(f"{V1}/intents/{a_intent}", headers=bob)).status_code == 404
    await asyncio.sleep(1.0)
    a_view = (await paper.api.get(f"{V1}/positions/{a_pos}", headers=alice)).json()
    assert a_view["status"] == "open"
    a_int = (await paper.api.get(f"{V1}/intents/{a_intent}", headers=alice)).json()
    assert a_int["status"] == "pending"

    # Alice closes her own; Bob's is untouched.
    await paper.api.post(f"{V1}/positions/{a_pos}/close", json={}, headers=alice)
    await paper.until(f"{V1}/positions/{a_pos}", alice, lambda b: b["status"] == "closed")
    b_view = (await paper.api.get(f"{V1}/positions/{b_pos}", headers=bob)).json()
    assert b_view["status"] == "open"
