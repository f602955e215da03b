"""Record workflow histories for the replay tests.

    .venv/bin/python -m tests.replay.record

Runs every workflow through normal and faulted paths on the real pieces (Temporal dev server,
both emulators, an in-process worker) and writes each history to
``tests/replay/histories/<WorkflowType>/<scenario>.json``. Re-record after an intentional,
versioned workflow change; never to make a failing replay pass.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from basis.db import create_engine, session_factory
from basis.migrate import upgrade
from basis.runtime import hard_exit
from models import search
from models.domain import GLOBAL_SCOPE, Asset
from models.messages import (
    ClosePositionInput,
    ControlChange,
    IntentCriteria,
    IntentInput,
    RebalanceOrder,
)
from models.tables import Intent, User
from tests.conftest import BIN
from tests.e2e.paper import Paper, paper_world
from tests.intents import authorised_open
from wallets.keystore import LocalKeystore
from wallets.paper import PaperFaucet
from workflows.close_position import ClosePositionWorkflow
from workflows.control import CONTROL_WORKFLOW_ID
from workflows.intent import IntentWorkflow
from workflows.open_position import OpenPositionWorkflow
from workflows.rebalance import RebalanceWorkflow
from workflows.reconcile import ReconcileWorkflow

OUT = Path(__file__).with_name("histories")


async def _user(paper: Paper) -> uuid.UUID:
    engine = create_engine(paper.settings.database_url)
    try:
        sessions = session_factory(engine)
        async with sessions() as s, s.begin():
            u = User(created_at=paper.venues.clock.now())
            s.add(u)
        ks = LocalKeystore(sessions, paper.settings.server_secret.get_secret_value())
        wallets = await ks.ensure_wallets(u.id)
    finally:
        await engine.dispose()
    await PaperFaucet(paper.settings).deposit(wallets)
    return u.id


async def _open(paper: Paper, user: uuid.UUID, capital: str = "10000") -> uuid.UUID:
    inp = await authorised_open(
        paper.settings.database_url,
        user,
        asset=Asset.SOL,
        leverage=Decimal(3),
        capital_usd=Decimal(capital),
        config=paper.cfg,
        now=paper.venues.clock.now(),
    )
    await paper.temporal.execute_workflow(
        OpenPositionWorkflow.run,
        inp,
        id=f"open-{inp.position_id}",
        task_queue=paper.cfg.engine_queue,
    )
    return inp.position_id


async def _close(paper: Paper, user: uuid.UUID, pid: uuid.UUID) -> None:
    await paper.temporal.execute_workflow(
        ClosePositionWorkflow.run,
        ClosePositionInput(position_id=pid, user_id=user, reason="record", config=paper.cfg),
        id=f"close-{pid}",
        task_queue=paper.cfg.engine_queue,
    )


async def _intent(paper: Paper, user: uuid.UUID, **kw: object) -> IntentInput:
    """An intent row (as the API writes it) and the workflow input for it."""
    inp = IntentInput.model_validate(
        {
            "intent_id": uuid.uuid4(),
            "user_id": user,
            "asset": Asset.SOL,
            "leverage": Decimal(3),
            "capital_usd": Decimal(5000),
            "config": paper.cfg,
            **kw,
        }
    )
    now = paper.venues.clock.now()
    engine = create_engine(paper.settings.database_url)
    try:
        async with session_factory(engine)() as s, s.begin():
            s.add(
                Intent(
                    id=inp.intent_id,
                    user_id=user,
                    asset=inp.asset,
                    leverage=inp.leverage,
                    capital_usd=inp.capital_usd,
                    min_net_apy=inp.criteria.min_net_apy,
                    min_funding_rate=inp.criteria.min_funding_rate,
                    max_funding_volatility=inp.criteria.max_funding_volatility,
                    execute_immediately=inp.execute_immediately,
                    created_at=now,
                    updated_at=now,
                )
            )
    finally:
        await engine.dispose()
    return inp


# ---- scenarios ------------------------------------------------------------------------------


async def open_and_close(paper: Paper) -> None:
    user = await _user(paper)
    pid = await _open(paper, user)
    await paper.advance(2 * 3600)
    await _close(paper, user, pid)


async def intent_woken_by_scan(paper: Paper) -> None:
    user = await _user(paper)
    inp = await _intent(
        paper,
        user,
        criteria=IntentCriteria(
            min_funding_rate=Decimal("0.0002"), max_funding_volatility=Decimal(10)
        ),
    )
    h = await paper.temporal.start_workflow(
        IntentWorkflow.run, inp, id=f"intent-{inp.intent_id}", task_queue=paper.cfg.engine_queue
    )
    await paper.market("funding", rate="0.0004")
    await paper.advance(3600)
    await _scan_until_done(paper, h)
    await paper.market("funding", rate=None)


async def _scan_until_done(paper: Paper, h: object) -> None:
    from temporalio.client import WorkflowHandle

    assert isinstance(h, WorkflowHandle)
    for _ in range(20):
        from models.messages import IntentProgress

        p: IntentProgress = await h.query(IntentWorkflow.progress)
        if p.status.is_terminal:
            return
        await paper.scan()
        await asyncio.sleep(0.5)


async def intent_cancelled(paper: Paper) -> None:
    user = await _user(paper)
    inp = await _intent(paper, user, criteria=IntentCriteria(min_net_apy=Decimal(5)))
    h = await paper.temporal.start_workflow(
        IntentWorkflow.run, inp, id=f"intent-{inp.intent_id}", task_queue=paper.cfg.engine_queue
    )
    await h.execute_update(IntentWorkflow.cancel, "record")


async def intent_immediate_refused(paper: Paper) -> None:
    user = await _user(paper)
    inp = await _intent(paper, user, capital_usd=Decimal(50), execute_immediately=True)
    await paper.temporal.execute_workflow(
        IntentWorkflow.run, inp, id=f"intent-{inp.intent_id}", task_queue=paper.cfg.engine_queue
    )


async def monitor_funding_flip(paper: Paper) -> None:
    user = await _user(paper)
    await _open(paper, user)
    await paper.monitor()
    await paper.market("funding", rate="-0.0003")
    await paper.advance(5 * 3600)
    await paper.monitor()
    await asyncio.sleep(3)
    await paper.market("funding", rate=None)


async def hedge_rejected(paper: Paper) -> None:
    user = await _user(paper)
    await paper.fault("hyperliquid", kind="logical_error", match="exchange:order", count=1)
    await _open(paper, user)


async def hedge_faults(paper: Paper) -> None:
    user = await _user(paper)
    await paper.fault("hyperliquid", kind="lost_response", match="exchange:order", count=1)
    await paper.fault(
        "hyperliquid",
        kind="partial_fill",
        match="exchange:order",
        count=2,
        params={"fraction": "0.5"},
    )
    await paper.fault("asgard", kind="lost_response", match="asgard:submit-*", count=1)
    pid = await _open(paper, user)
    await paper.hl_admin.delete("/admin/faults")
    await paper.asgard_admin.delete("/admin/faults")
    await _close(paper, user, pid)


async def rebalance_drift(paper: Paper) -> None:
    user = await _user(paper)
    pid = await _open(paper, user)
    await paper.temporal.execute_workflow(
        RebalanceWorkflow.run,
        RebalanceOrder(
            position_id=pid,
            user_id=user,
            reason="delta_drift",
            transfer_usd=Decimal(0),
            target_short_size=Decimal("101"),
            config=paper.cfg,
        ),
        id=f"rebalance-{pid}",
        task_queue=paper.cfg.engine_queue,
    )


async def emergency_stop(paper: Paper) -> None:
    user = await _user(paper)
    await _open(paper, user, capital="3000")
    from api.services.control import apply_change

    await apply_change(
        paper.temporal,
        paper.settings,
        ControlChange(scope=GLOBAL_SCOPE, paused=True, emergency_stop=True, actor="record"),
    )
    await asyncio.sleep(4)
    await apply_change(
        paper.temporal,
        paper.settings,
        ControlChange(scope=GLOBAL_SCOPE, paused=False, actor="record"),
    )
    await paper.temporal.get_workflow_handle(CONTROL_WORKFLOW_ID).terminate("recorded")


async def reconcile_mismatch(paper: Paper) -> None:
    from tests.e2e.test_reconciliation import _buy_back_behind_our_back

    user = await _user(paper)
    await _open(paper, user)
    await _buy_back_behind_our_back(paper, user, "25")
    await paper.temporal.execute_workflow(
        ReconcileWorkflow.run,
        paper.cfg,
        id=f"reconcile-{uuid.uuid4().hex[:6]}",
        task_queue=paper.cfg.engine_queue,
    )


SCENARIOS: dict[str, Callable[[Paper], Awaitable[None]]] = {
    "open-and-close": open_and_close,
    "intent-woken-by-scan": intent_woken_by_scan,
    "intent-cancelled": intent_cancelled,
    "intent-immediate-refused": intent_immediate_refused,
    "monitor-funding-flip": monitor_funding_flip,
    "hedge-rejected": hedge_rejected,
    "hedge-and-submit-faults": hedge_faults,
    "rebalance-drift": rebalance_drift,
    "emergency-stop": emergency_stop,
    "reconcile-mismatch": reconcile_mismatch,
}


async def _save(client: Client, queue: str, scenario: str) -> int:
    saved = 0
    async for wf in client.list_workflows(f'TaskQueue="{queue}"'):
        handle = client.get_workflow_handle(wf.id, run_id=wf.run_id)
        history = await handle.fetch_history()
        folder = OUT / wf.workflow_type
        folder.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9-]", "", scenario)
        n = len(list(folder.glob(f"{slug}*.json")))
        path = folder / f"{slug}{'-' + str(n) if n else ''}.json"
        path.write_text(json.dumps(json.loads(history.to_json()), indent=1))
        saved += 1
    return saved


async def main() -> int:
    if OUT.exists():
        shutil.rmtree(OUT)
    env = await WorkflowEnvironment.start_local(
        namespace="basis",
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=search.ALL,
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
    )
    try:
        for name, scenario in SCENARIOS.items():
            work = Path(tempfile.mkdtemp())
            url = f"sqlite+aiosqlite:///{work / 'basis.db'}"
            engine = create_engine(url)
            await upgrade(engine)
            await engine.dispose()
            queue = f"record-{name}"
            async with paper_world(env.client, url, queue) as paper:
                await scenario(paper)
                await asyncio.sleep(2)  # let abandoned children finish
            # Visibility is eventually consistent: give it a moment before listing.
            await asyncio.sleep(1.5)
            count = await _save(env.client, queue, name)
            print(f"{name}: {count} histories")
            shutil.rmtree(work, ignore_errors=True)
    finally:
        await env.shutdown()
    return 0


if __name__ == "__main__":
    hard_exit(asyncio.run(main()))
