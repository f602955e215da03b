"""Reconciliation against the real venues: a difference is never treated as flat."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from basis.db import create_engine, session_factory
from models import search
from models.domain import OrderSide
from models.tables import AuditEvent
from tests.e2e.paper import Paper, paper_world
from tests.e2e.test_trading import _intent, _open_now, _settled
from venues.hyperliquid.client import HyperliquidClient
from venues.hyperliquid.types import make_cloid
from venues.hyperliquid.venue import HyperliquidVenue
from wallets.keystore import LocalKeystore
from wallets.provider import LocalWalletProvider
from workflows.reconcile import ReconcileWorkflow

pytestmark = [pytest.mark.e2e]


@pytest.fixture
async def paper(
    temporal_env: WorkflowEnvironment, sqlite_url: str, task_queue: str
) -> AsyncIterator[Paper]:
    async with paper_world(temporal_env.client, sqlite_url, task_queue) as world:
        yield world


async def _buy_back_behind_our_back(paper: Paper, user_id: uuid.UUID, size: str) -> None:
    """Someone (the user, a liquidation) reduces the short outside the system."""
    engine = create_engine(paper.settings.database_url)
    try:
        provider = LocalWalletProvider(
            LocalKeystore(session_factory(engine), paper.settings.server_secret.get_secret_value())
        )
        signer = await provider.hyperliquid_signer(user_id)
    finally:
        await engine.dispose()
    venue = await HyperliquidVenue.connect(paper.settings.venues.hyperliquid_url)
    await HyperliquidClient(venue, signer).market_order(
        "SOL",
        OrderSide.BUY,
        Decimal(size),
        slippage_bps=Decimal(100),
        cloid=make_cloid("outside", uuid.uuid4()),
        reduce_only=True,
    )


async def test_a_short_changed_outside_the_system_halts_the_position_and_blocks_opens(
    paper: Paper,
) -> None:
    user = await paper.new_user()
    pos = await _open_now(paper, user)
    await _buy_back_behind_our_back(paper, uuid.UUID((await paper.me(user))["id"]), "30")

    reports = await paper.temporal.execute_workflow(
        ReconcileWorkflow.run,
        paper.cfg,
        id=f"reconcile-{uuid.uuid4().hex[:6]}",
        task_queue=paper.cfg.engine_queue,
    )
    [report] = reports
    assert not report.consistent
    assert [str(h) for h in report.halted] == [pos["id"]]

    halted = (await paper.api.get(f"/api/v1/positions/{pos['id']}", headers=user)).json()
    assert halted["status"] == "halted"
    assert "holds" in halted["halt_reason"] and "SOL short" in halted["halt_reason"]
    # Findable by an operator in the Temporal UI.
    marker = await paper.temporal.get_workflow_handle(f"halt-{pos['id']}").describe()
    assert marker.typed_search_attributes.get(search.STATUS) == "halted"
    assert "reconciliation (startup)" in (
        marker.typed_search_attributes.get(search.HALT_REASON) or ""
    )
    engine = create_engine(paper.settings.database_url)
    async with session_factory(engine)() as s:
        audit = (
            await s.exec(select(AuditEvent).where(AuditEvent.action == "reconciliation_mismatch"))
        ).all()
    await engine.dispose()
    assert len(audit) == 1

    # A halted position is not closed automatically and no new position opens for the user.
    r = await paper.api.post(
        "/api/v1/positions/open",
        json=_intent(capital_usd="2500", execute_immediately=True),
        headers=user,
    )
    intent = await _settled(paper, user, r.json()["id"])
    assert intent["status"] == "failed"
    assert intent["failure_reason"].startswith("reconciliation:")


async def test_a_consistent_account_passes_reconciliation_untouched(paper: Paper) -> None:
    user = await paper.new_user()
    pos = await _open_now(paper, user)
    reports = await paper.temporal.execute_workflow(
        ReconcileWorkflow.run,
        paper.cfg,
        id=f"reconcile-{uuid.uuid4().hex[:6]}",
        task_queue=paper.cfg.engine_queue,
    )
    assert reports == []
    again = (await paper.api.get(f"/api/v1/positions/{pos['id']}", headers=user)).json()
    assert again["status"] == "open"
