"""Temporal worker: registers the workflows and activities on their task queues.

Run as many copies as needed (``python worker.py`` or ``basis worker``): they share the task
queues, and Temporal spreads the work. Stops gracefully on SIGINT/SIGTERM, letting running
activities finish within the grace period.
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
from temporalio.worker import Worker

from activities.control import ControlActivities
from activities.ledger import LedgerActivities
from basis.config import ConfigError, Settings, load_settings
from basis.db import create_engine, session_factory
from basis.logging import configure_logging
from basis.runtime import hard_exit
from basis.temporal import connect_with_retry
from workflows.close_position import ClosePositionWorkflow
from workflows.control import ControlWorkflow
from workflows.intent import IntentWorkflow
from workflows.open_position import OpenPositionWorkflow

log = logging.getLogger("basis.worker")

WORKFLOWS: list[type] = [
    ControlWorkflow,
    IntentWorkflow,
    OpenPositionWorkflow,
    ClosePositionWorkflow,
]

QUEUE_ROLES = ("engine", "venues")


@dataclass
class WorkerDeps:
    """Everything the activities need, built once per process and shared."""

    settings: Settings
    engine: AsyncEngine
    extra: dict[str, Any] = field(default_factory=dict)

    async def aclose(self) -> None:
        await self.engine.dispose()


def build_deps(settings: Settings) -> WorkerDeps:
    return WorkerDeps(settings=settings, engine=create_engine(settings.database_url))


def engine_activities(deps: WorkerDeps) -> list[Any]:
    sessions = session_factory(deps.engine)
    control = ControlActivities(sessions, kill_switch=deps.settings.kill_switch_file)
    ledger = LedgerActivities(sessions)
    return [
        control.apply_control_change,
        control.read_control_states,
        control.entry_gate,
        ledger.create_position,
        ledger.record_leg_fills,
        ledger.record_position_open,
        ledger.record_position_failed,
        ledger.halt_position,
        ledger.begin_close,
        ledger.record_position_closed,
        ledger.set_intent_status,
    ]


def venue_activities(deps: WorkerDeps) -> list[Any]:
    return []


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
                activities=engine_activities(deps),
                graceful_shutdown_timeout=timedelta(seconds=10),
            )
        )
    if "venues" in roles:
        acts = venue_activities(deps)
        if acts:
            workers.append(
                Worker(
                    client,
                    task_queue=t.venue_task_queue,
                    activities=acts,
                    graceful_shutdown_timeout=timedelta(seconds=30),
                )
            )
    return workers


async def run(settings: Settings, roles: Sequence[str] = QUEUE_ROLES) -> None:
    client = await connect_with_retry(settings)
    deps = build_deps(settings)
    workers = build_workers(client, deps, roles)
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
