"""Temporal worker: registers the workflows and activities on their task queues.

Run as many copies as needed (``python worker.py`` or ``basis worker``): they share the task
queues, and Temporal spreads the work. The ``engine`` role runs the workflows and database
activities, the ``venues`` role the activities that call Hyperliquid, Asgard and Solana; a
process serves both by default. Stops gracefully on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

from activities.control import ControlActivities
from activities.cycles import CycleActivities
from activities.entry import EntryActivities
from activities.ledger import LedgerActivities
from activities.legs import LegActivities
from activities.market import MarketObserver
from activities.reconcile import ReconcileActivities
from activities.settlement import SettlementActivities
from basis.clock import Clock, utc_now
from basis.config import ConfigError, Settings, load_settings
from basis.db import create_engine, session_factory
from basis.engine import engine_config
from basis.logging import configure_logging
from basis.runtime import hard_exit
from basis.schedules import ensure_schedules
from basis.temporal import connect_with_retry
from venues.asgard.client import AsgardClient
from venues.asgard.factory import asgard_client, solana_rpc
from venues.hyperliquid.venue import HyperliquidVenue
from venues.solana.rpc import SolanaRpc
from venues.solana.store import SqlSubmissionStore
from wallets.factory import wallet_provider
from wallets.provider import WalletProvider
from workflows.close_position import ClosePositionWorkflow
from workflows.control import ControlWorkflow
from workflows.cycles import IntentScanWorkflow, MonitorCycleWorkflow
from workflows.intent import IntentWorkflow
from workflows.open_position import OpenPositionWorkflow
from workflows.rebalance import RebalanceWorkflow
from workflows.reconcile import HaltedPositionWorkflow, ReconcileWorkflow

log = logging.getLogger("basis.worker")

WORKFLOWS: list[type] = [
    ControlWorkflow,
    IntentWorkflow,
    OpenPositionWorkflow,
    ClosePositionWorkflow,
    IntentScanWorkflow,
    MonitorCycleWorkflow,
    RebalanceWorkflow,
    ReconcileWorkflow,
    HaltedPositionWorkflow,
]

QUEUE_ROLES = ("engine", "venues")


@dataclass
class Venues:
    """The venue objects a worker shares between all its activities (one each)."""

    hyperliquid: HyperliquidVenue
    asgard: AsgardClient
    rpc: SolanaRpc
    market: MarketObserver

    async def aclose(self) -> None:
        await self.asgard.close()
        await self.rpc.close()


@dataclass
class WorkerDeps:
    """Everything the activities need, built once per process and shared."""

    settings: Settings
    engine: AsyncEngine
    venues: Venues | None = None
    wallets: WalletProvider | None = None
    clock: Clock = utc_now
    """Time as the activities read it (tests driving a simulated market pass its clock)."""
    extra: dict[str, Any] = field(default_factory=dict)

    async def aclose(self) -> None:
        if self.venues is not None:
            await self.venues.aclose()
        if self.wallets is not None:
            await self.wallets.aclose()
        await self.engine.dispose()


def build_deps(settings: Settings) -> WorkerDeps:
    engine = create_engine(settings.database_url)
    wallets = wallet_provider(settings, session_factory(engine))
    return WorkerDeps(settings=settings, engine=engine, wallets=wallets)


async def connect_venues(
    settings: Settings, *, timeout: float = 60.0, clock: Clock = utc_now
) -> Venues:
    """Connect to the venues, waiting for them to come up (an emulator may still be
    starting)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            hl = await HyperliquidVenue.connect(
                settings.venues.hyperliquid_url, timeout=settings.venues.request_timeout_seconds
            )
            break
        except Exception as exc:  # any failure to read the universe: not up yet
            if loop.time() >= deadline:
                raise RuntimeError(
                    f"Hyperliquid at {settings.venues.hyperliquid_url} unreachable: {exc}"
                ) from exc
            log.info("waiting for Hyperliquid at %s: %s", settings.venues.hyperliquid_url, exc)
            await asyncio.sleep(1.0)
    asgard = asgard_client(settings)
    return Venues(
        hyperliquid=hl,
        asgard=asgard,
        rpc=solana_rpc(settings),
        market=MarketObserver(hl, asgard, settings.risk, clock=clock),
    )


def engine_activities(deps: WorkerDeps, client: Client | None = None) -> list[Any]:
    sessions = session_factory(deps.engine)
    control = ControlActivities(
        sessions,
        clock=deps.clock,
        kill_switch=deps.settings.kill_switch_file,
        temporal=client,
        engine=engine_config(deps.settings),
    )
    ledger = LedgerActivities(sessions, risk=deps.settings.risk, clock=deps.clock)
    return [
        control.apply_control_change,
        control.read_control_states,
        control.entry_gate,
        control.close_all_positions,
        ledger.create_position,
        ledger.record_leg_fills,
        ledger.record_position_open,
        ledger.record_position_failed,
        ledger.halt_position,
        ledger.begin_close,
        ledger.record_position_closed,
        ledger.set_intent_status,
        ledger.position_state,
        ledger.record_rebalance,
    ]


def venue_activities(deps: WorkerDeps, client: Client) -> list[Any]:
    v, wallets, settings = deps.venues, deps.wallets, deps.settings
    if v is None or wallets is None:
        return []
    sessions = session_factory(deps.engine)
    legs = LegActivities(
        settings=settings,
        hyperliquid=v.hyperliquid,
        asgard=v.asgard,
        rpc=v.rpc,
        store=SqlSubmissionStore(deps.engine),
        wallets=wallets,
        market=v.market,
        sessions=sessions,
        clock=deps.clock,
    )
    entry = EntryActivities(
        risk=settings.risk,
        market=v.market,
        hyperliquid=v.hyperliquid,
        rpc=v.rpc,
        wallets=wallets,
        sessions=sessions,
        kill_switch=settings.kill_switch_file,
        clock=deps.clock,
    )
    settle = SettlementActivities(
        hyperliquid=v.hyperliquid,
        market=v.market,
        wallets=wallets,
        sessions=sessions,
        clock=deps.clock,
    )
    reconcile = ReconcileActivities(
        hyperliquid=v.hyperliquid,
        asgard=v.asgard,
        wallets=wallets,
        sessions=sessions,
        clock=deps.clock,
    )
    cycles = CycleActivities(
        risk=settings.risk,
        market=v.market,
        hyperliquid=v.hyperliquid,
        asgard=v.asgard,
        sessions=sessions,
        temporal=client,
        clock=deps.clock,
    )
    return [
        legs.set_leverage,
        legs.place_hedge,
        legs.hedge_fill,
        legs.short_state,
        legs.open_long,
        legs.close_long,
        legs.add_short_margin,
        legs.add_long_collateral,
        entry.check_intent,
        entry.preflight_open,
        settle.settle_close,
        reconcile.users_with_positions,
        reconcile.reconcile_user,
        cycles.scan_intents,
        cycles.plan_monitor,
        cycles.monitor_batch,
    ]


def build_workers(
    client: Client, deps: WorkerDeps, roles: Sequence[str] = QUEUE_ROLES
) -> list[Worker]:
    t = deps.settings.temporal
    workers: list[Worker] = []
    if "engine" in roles:
        workers.append(
            Worker(
                client,
                task_queue=t.task_queue,
                workflows=WORKFLOWS,
                activities=engine_activities(deps, client),
                graceful_shutdown_timeout=timedelta(seconds=10),
                # A workflow cached on a worker that died waits this long before another
                # worker takes it: it bounds how long a crash can leave a leg unhedged.
                sticky_queue_schedule_to_start_timeout=timedelta(seconds=2),
            )
        )
    if "venues" in roles:
        acts = venue_activities(deps, client)
        if acts:
            workers.append(
                Worker(
                    client,
                    task_queue=t.venue_task_queue,
                    activities=acts,
                    max_concurrent_activities=200,
                    graceful_shutdown_timeout=timedelta(seconds=30),
                )
            )
    return workers


async def start_reconciliation(client: Client, settings: Settings) -> None:
    """Compare every account with the venues as this worker starts (a restarted fleet must
    not trust a database the venues disagree with). Joins a check already running."""
    await client.start_workflow(
        ReconcileWorkflow.run,
        engine_config(settings),
        id="reconcile-startup",
        task_queue=settings.temporal.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def run(settings: Settings, roles: Sequence[str] = QUEUE_ROLES) -> None:
    client = await connect_with_retry(settings)
    deps = build_deps(settings)
    if "venues" in roles:
        deps.venues = await connect_venues(settings)
    if "engine" in roles and settings.temporal.schedules:
        await ensure_schedules(client, settings)
    workers = build_workers(client, deps, roles)
    if "engine" in roles:
        await start_reconciliation(client, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker started",
        extra={"task_queues": [w.task_queue for w in workers], "namespace": client.namespace},
    )
    try:
        async with contextlib.AsyncExitStack() as stack:
            for w in workers:
                await stack.enter_async_context(w)
            await stop.wait()
            log.info("worker stopping")
    finally:
        await deps.aclose()
    log.info("worker stopped")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Asgard Basis Temporal worker")
    parser.add_argument(
        "--roles",
        default=",".join(QUEUE_ROLES),
        help="comma-separated task-queue roles to serve: engine, venues (default: both)",
    )
    args = parser.parse_args(argv)
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    bad = [r for r in roles if r not in QUEUE_ROLES]
    if bad or not roles:
        parser.error(f"--roles: unknown role(s) {bad}; allowed: {', '.join(QUEUE_ROLES)}")
    try:
        settings = load_settings()
    except ConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        hard_exit(2)
        return
    configure_logging("worker", settings.log_level, settings.log_format)
    code = 0
    try:
        asyncio.run(run(settings, roles))
    except Exception:
        log.exception("worker failed")
        code = 1
    hard_exit(code)


if __name__ == "__main__":
    main()
