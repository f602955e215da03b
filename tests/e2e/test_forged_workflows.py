"""Anyone who reaches Temporal can start the engine's workflows with any input. Started that
way, around the API, with another user's id, an intent that does not exist, another user's
intent, an intent not executing, terms above the user's limits, or a close or rebalance of a
position the database does not hold, they fail, they leave an audit event, and not one request
that trades reaches either venue (counted at the emulators' doors)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import col, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.guard import FORGED_INPUT, REFUSED_ACTION
from basis.db import create_engine, session_factory
from models.domain import Asset, IntentStatus
from models.messages import ClosePositionInput, IntentInput, OpenPositionInput, RebalanceOrder
from models.tables import AuditEvent, Intent, Position
from tests.e2e.paper import Paper, paper_world
from tests.intents import executing_intent
from venues.emulators.asgard.app import ASGARD_PREFIX, RPC_PATH
from workflows.close_position import ClosePositionWorkflow
from workflows.intent import IntentWorkflow
from workflows.open_position import OpenPositionWorkflow
from workflows.rebalance import RebalanceWorkflow

pytestmark = [pytest.mark.e2e]
V1 = "/api/v1"

# Asgard endpoints that build, sign or submit a transaction (reads are not counted).
_ASGARD_TRADES = {
    "create-position-simulate",
    "create-position",
    "submit-create-position-tx",
    "close-position",
    "submit-close-position-tx",
    "position/partial-close",
    "position/add-collateral",
    "position/repay",
    "position/deleverage",
    "submit-position-update-tx",
}


@dataclass
class VenueDoor:
    """Every request that would trade, as it reaches an emulator: Hyperliquid ``/exchange``
    (orders, cancels, leverage, margin), Asgard's transaction endpoints and Solana
    ``sendTransaction``."""

    trades: list[str] = field(default_factory=list)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["method"] != "POST":
                await app(scope, receive, send)
                return
            path: str = scope["path"]
            body = bytearray()

            async def tap() -> Message:
                msg = await receive()
                body.extend(msg.get("body", b""))
                if not msg.get("more_body", False):
                    self._note(path, bytes(body))
                return msg

            await app(scope, tap, send)

        return counted

    def _note(self, path: str, body: bytes) -> None:
        if path == "/exchange":
            self.trades.append(f"hyperliquid {json.loads(body)['action']['type']}")
        elif path.startswith(f"{ASGARD_PREFIX}/") and path[len(ASGARD_PREFIX) + 1 :] in (
            _ASGARD_TRADES
        ):
            self.trades.append(f"asgard {path}")
        elif path == RPC_PATH and b"sendTransaction" in body:
            self.trades.append("solana sendTransaction")


@pytest.fixture
async def world(
    temporal_env: WorkflowEnvironment, sqlite_url: str, task_queue: str
) -> AsyncIterator[tuple[Paper, VenueDoor]]:
    door = VenueDoor()
    async with paper_world(temporal_env.client, sqlite_url, task_queue, wrap=door.wrap) as p:
        yield p, door


def _forged(cause: BaseException | None) -> bool:
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type == FORGED_INPUT:
            return True
        cause = cause.__cause__
    return False


async def _fails_refused(handle: WorkflowHandle[Any, Any]) -> None:
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), timeout=60)
    assert _forged(failed.value.cause), f"{handle.id}: {failed.value.cause}"


async def test_workflows_started_around_the_api_with_forged_inputs_reach_no_venue(
    world: tuple[Paper, VenueDoor],
) -> None:
    paper, door = world
    alice_h, bob_h = await paper.new_user(), await paper.new_user()
    alice = uuid.UUID(str((await paper.me(alice_h))["id"]))
    bob = uuid.UUID(str((await paper.me(bob_h))["id"]))
    waiting = {"asset": "SOL", "capital_usd": "2000", "min_net_apy": "0.9"}
    r = await paper.api.post(f"{V1}/intents", json=waiting, headers=bob_h)
    assert r.status_code in (201, 202), r.text
    bobs_intent = uuid.UUID(r.json()["id"])
    r = await paper.api.put(f"{V1}/settings", json={"max_leverage": "2"}, headers=alice_h)
    assert r.status_code == 200, r.text
    # An intent at 4x that predates Alice's 2x setting (or was written around the API): even
    # executing, it must not open above her limit.
    stale_pid = uuid.uuid4()
    stale = await executing_intent(
        paper.settings.database_url,
        alice,
        stale_pid,
        asset=Asset.SOL,
        leverage=Decimal(4),
        capital_usd=Decimal(10_000),
        now=paper.venues.clock.now(),
    )
    assert door.trades == []  # signing in and saving settings trade nothing

    def open_input(user: uuid.UUID, intent: uuid.UUID | None, **kw: object) -> OpenPositionInput:
        terms: dict[str, object] = {
            "position_id": uuid.uuid4(),
            "asset": Asset.SOL,
            "leverage": Decimal(4),
            "capital_usd": Decimal(500_000),
            **kw,
        }
        return OpenPositionInput.model_validate(
            {"user_id": user, "intent_id": intent, "config": paper.cfg, **terms}
        )

    opens = {
        "no intent, 500k at 4x for Alice": open_input(alice, None),
        "an intent that does not exist": open_input(alice, uuid.uuid4()),
        "Bob's intent under Alice's id": open_input(
            alice, bobs_intent, capital_usd=Decimal(2000), leverage=Decimal(3)
        ),
        "Bob's own intent, still pending": open_input(
            bob, bobs_intent, capital_usd=Decimal(2000), leverage=Decimal(3)
        ),
        "above Alice's max_leverage": open_input(
            alice, stale, position_id=stale_pid, capital_usd=Decimal(10_000)
        ),
    }
    handles: list[WorkflowHandle[Any, Any]] = [
        await paper.temporal.start_workflow(
            OpenPositionWorkflow.run,
            inp,
            id=f"open-{inp.position_id}",
            task_queue=paper.cfg.engine_queue,
        )
        for inp in opens.values()
    ]
    # An intent workflow for an intent the database does not hold, and one naming Alice for
    # Bob's intent: neither may move an intent, let alone open.
    intents = [
        IntentInput(
            intent_id=intent,
            user_id=alice,
            asset=Asset.SOL,
            leverage=Decimal(3),
            capital_usd=Decimal(2000),
            execute_immediately=True,
            config=paper.cfg,
        )
        for intent in (uuid.uuid4(), bobs_intent)
    ]
    handles += [
        await paper.temporal.start_workflow(
            IntentWorkflow.run,
            inp,
            id=f"forged-intent-{uuid.uuid4().hex[:8]}",
            task_queue=paper.cfg.engine_queue,
        )
        for inp in intents
    ]
    # A close and a rebalance of a position the database does not hold.
    ghost = uuid.uuid4()
    handles += [
        await paper.temporal.start_workflow(
            ClosePositionWorkflow.run,
            ClosePositionInput(position_id=ghost, user_id=alice, reason="x", config=paper.cfg),
            id=f"close-{ghost}",
            task_queue=paper.cfg.engine_queue,
        ),
        await paper.temporal.start_workflow(
            RebalanceWorkflow.run,
            RebalanceOrder(
                position_id=ghost,
                user_id=alice,
                reason="delta_drift",
                transfer_usd=Decimal(0),
                target_short_size=Decimal(1000),
                config=paper.cfg,
            ),
            id=f"rebalance-{ghost}",
            task_queue=paper.cfg.engine_queue,
        ),
    ]
    await asyncio.gather(*(_fails_refused(h) for h in handles))

    assert door.trades == []
    engine = create_engine(paper.settings.database_url)
    try:
        async with session_factory(engine)() as s:
            refused = (
                await s.exec(select(AuditEvent).where(AuditEvent.action == REFUSED_ACTION))
            ).all()
            positions = (
                await s.exec(
                    select(Position).where(
                        col(Position.id).in_([i.position_id for i in opens.values()])
                    )
                )
            ).all()
            intent_row = await s.get(Intent, bobs_intent)
    finally:
        await engine.dispose()
    assert {e.correlation_id for e in refused} == {h.id for h in handles}
    assert positions == []
    assert intent_row is not None and intent_row.status is IntentStatus.PENDING
    by_workflow = {e.correlation_id: e for e in refused}
    assert by_workflow[handles[2].id].user_id == bob  # the account it tried to act on
    assert "max_leverage 2" in by_workflow[handles[4].id].details["reason"]


async def test_an_open_through_the_api_passes_the_same_checks_and_trades(
    world: tuple[Paper, VenueDoor],
) -> None:
    """The door counts what a real open sends, and the API's intent is the warrant the
    engine accepts: both venues are reached and the position is the intent's."""
    paper, door = world
    user = await paper.new_user()
    r = await paper.api.post(
        f"{V1}/positions/open",
        json={"asset": "SOL", "capital_usd": "5000", "execute_immediately": True},
        headers=user,
    )
    assert r.status_code == 202, r.text
    done = await paper.until(
        f"{V1}/intents/{r.json()['id']}", user, lambda b: b["status"] == "filled"
    )
    pos = (await paper.api.get(f"{V1}/positions/{done['position_id']}", headers=user)).json()
    assert (pos["intent_id"], pos["capital_usd"]) == (done["id"], "5000")
    venues = {t.split()[0] for t in door.trades}
    assert {"hyperliquid", "asgard"} <= venues, door.trades
    assert "hyperliquid updateLeverage" in door.trades
