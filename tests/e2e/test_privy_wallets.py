"""With ``wallet_provider: privy`` the whole path runs on Privy server wallets: sign-in creates
them (through the API), the worker's activities sign with them (Solana ``signMessage`` for the
Asgard long, EIP-712 for the Hyperliquid short), and a position opens and closes on the
paper venues. Privy is a local fake holding real keys, reached over real HTTP."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment

from basis.db import create_engine
from basis.ports import free_port
from tests.e2e.paper import Paper, paper_world
from tests.wallets.fake_privy import FakePrivy
from venues.emulators.combined import _QuietServer

pytestmark = [pytest.mark.e2e]


@pytest.fixture
async def privy() -> AsyncIterator[FakePrivy]:
    port = free_port()
    fake = FakePrivy(base_url=f"http://127.0.0.1:{port}")
    server = _QuietServer(
        uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield fake
    server.should_exit = True
    await task


@pytest.fixture
async def paper(
    temporal_env: WorkflowEnvironment, sqlite_url: str, task_queue: str, privy: FakePrivy
) -> AsyncIterator[Paper]:
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    async with paper_world(
        temporal_env.client,
        sqlite_url,
        task_queue,
        wallet_provider="privy",
        privy={
            "app_id": privy.app_id,
            "app_secret": privy.app_secret,
            "api_url": privy.base_url,
            "authorization_key": "wallet-auth:" + base64.b64encode(der).decode(),
        },
    ) as world:
        yield world


async def test_a_position_opens_and_closes_on_privy_server_wallets(
    paper: Paper, privy: FakePrivy
) -> None:
    user = await paper.new_user()
    me = await paper.me(user)
    addresses = {w.address for w in privy.wallets.values()}
    assert {me["wallets"]["solana"], me["wallets"]["evm"]} == addresses
    assert all(w.owner for w in privy.wallets.values())  # owned by our authorization key

    r = await paper.api.post(
        "/api/v1/positions/open",
        json={"asset": "SOL", "capital_usd": "4000", "execute_immediately": True},
        headers=user,
    )
    intent = await paper.until(
        f"/api/v1/intents/{r.json()['id']}",
        user,
        lambda b: b["status"] not in ("pending", "executing"),
    )
    assert intent["status"] == "filled", intent
    pid = intent["position_id"]
    await paper.api.post(f"/api/v1/positions/{pid}/close", json={}, headers=user)
    closed = await paper.until(f"/api/v1/positions/{pid}", user, lambda b: b["status"] == "closed")
    assert closed["realised_pnl"]["total"] is not None

    methods = [body["method"] for _, path, body in privy.requests if path.endswith("/rpc") and body]
    assert methods.count("signMessage") >= 2  # the long's open and close
    assert methods.count("eth_signTypedData_v4") >= 2  # leverage, the short, its close
    engine = create_engine(paper.settings.database_url)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT provider, encrypted_key FROM wallets"))).all()
    await engine.dispose()
    assert [tuple(r) for r in rows] == [("privy", None), ("privy", None)]
