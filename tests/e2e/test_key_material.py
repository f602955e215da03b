"""No key material leaves the keystore: a real open and close through the paper world, then
every log line, every database byte and every Temporal history event of the run is searched
for the user's private keys in every encoding a key is commonly written in."""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from solders.keypair import Keypair
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment

from basis.db import create_engine, session_factory
from basis.logging import JsonFormatter
from tests.e2e.paper import Paper, paper_world
from wallets.keystore import LocalKeystore

pytestmark = [pytest.mark.e2e]


class Capture(logging.Handler):
    """Every record, formatted the way production writes it (JSON, extras included)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter("test"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


_B58 = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58(data: bytes) -> bytes:
    n = int.from_bytes(data, "big")
    out = b""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r : r + 1] + out
    return _B58[:1] * (len(data) - len(data.lstrip(b"\0"))) + out


def encodings(secret: bytes) -> dict[str, bytes]:
    """The ways a key is written down: raw, hex (with and without 0x), base58 (Solana's
    export), base64, and a Solana CLI keypair file's JSON array."""
    return {
        "raw": secret,
        "hex": secret.hex().encode(),
        "HEX": secret.hex().upper().encode(),
        "0xhex": b"0x" + secret.hex().encode(),
        "base58": b58(secret),
        "base64": base64.b64encode(secret),
        "base64url": base64.urlsafe_b64encode(secret).rstrip(b"="),
        "json-array": ("[" + ",".join(str(b) for b in secret[:16])).encode(),
    }


def find(blob: bytes, keys: dict[str, bytes]) -> list[str]:
    hits = []
    for name, secret in keys.items():
        for form, needle in encodings(secret).items():
            if needle in blob:
                hits.append(f"{name} as {form}")
    return hits


@pytest.fixture
async def paper(
    temporal_env: WorkflowEnvironment, sqlite_url: str, task_queue: str
) -> AsyncIterator[Paper]:
    async with paper_world(temporal_env.client, sqlite_url, task_queue) as world:
        yield world


async def test_private_keys_never_reach_logs_database_or_workflow_history(paper: Paper) -> None:
    capture = Capture()
    root = logging.getLogger()
    before = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    started = datetime.now(UTC)
    try:
        user = await paper.new_user()
        r = await paper.api.post(
            "/api/v1/positions/open",
            json={"asset": "SOL", "capital_usd": "5000", "execute_immediately": True},
            headers=user,
        )
        intent = await paper.until(
            f"/api/v1/intents/{r.json()['id']}", user, lambda b: b["status"] == "filled"
        )
        pid = intent["position_id"]
        await paper.api.post(f"/api/v1/positions/{pid}/close", json={}, headers=user)
        closed = await paper.until(
            f"/api/v1/positions/{pid}", user, lambda b: b["status"] == "closed"
        )
        assert closed["realised_pnl"] is not None  # both venues signed, twice each
    finally:
        root.removeHandler(capture)
        root.setLevel(before)

    me = await paper.me(user)
    uid = uuid.UUID(me["id"])
    engine = create_engine(paper.settings.database_url)
    keystore = LocalKeystore(
        session_factory(engine), paper.settings.server_secret.get_secret_value()
    )
    solana = bytes(await keystore.solana_keypair(uid))
    evm = bytes((await keystore.evm_account(uid)).key)
    keys = {"solana keypair": solana, "solana seed": solana[:32], "evm key": evm}
    assert str((await keystore.evm_account(uid)).address) == me["wallets"]["evm"]

    # The search finds a key where there is one: the checks below can fail.
    assert find(b"... " + str(Keypair.from_bytes(solana)).encode() + b" ...", keys) == [
        "solana keypair as base58"
    ]
    assert find(evm.hex().encode(), keys) == ["evm key as hex"]

    logs = "\n".join(capture.lines).encode()
    assert len(capture.lines) > 50
    assert find(logs, keys) == []

    async with engine.connect() as conn:
        tables = [
            row[0]
            for row in await conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'table'")
            )
        ]
        dump = b""
        for table in tables:
            for row in await conn.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608 - names from the catalog
                dump += repr(tuple(row)).encode() + b"\n"
    await engine.dispose()
    assert b"wallets" in dump or "wallets" in tables
    assert find(dump, keys) == []
    db_file = Path(paper.settings.database_url.removeprefix("sqlite+aiosqlite:///"))
    raw = b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))
    assert find(raw, keys) == []

    histories = b""
    count = 0
    query = f'StartTime >= "{started.isoformat()}"'
    async for wf in paper.temporal.list_workflows(query):
        history = await paper.temporal.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
        histories += history.to_json().encode()
        for event in history.events:
            histories += event.SerializeToString()
        count += 1
    assert count >= 3  # intent, open, close at least
    assert b"open_long" in histories or b"OpenPosition" in histories
    assert find(histories, keys) == []
