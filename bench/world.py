"""The engine as the benchmarks run it: a Temporal dev server, a scratch database, both venue
emulators on one simulated market in this process, and ``basis worker`` as a child process
(the production shape: the worker does not share the load generator's interpreter).

Not a test fixture: it lives here so that a benchmark measures the same stack the chaos
harness proves, with the same worker command and the same venue clients.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from basis.db import create_engine
from basis.migrate import upgrade
from models import search
from tests.chaos.harness import ChaosWorld, chaos_world

BIN = Path(sys.executable).parent
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class VenueTimer:
    """Wall-clock spans of the venue requests the emulators served (from the request's
    arrival to its last byte), to tell venue time from everything else."""

    spans: list[tuple[float, float]] = field(default_factory=list)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def timed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["path"].startswith("/admin"):
                await app(scope, receive, send)
                return
            t0 = time.time()
            try:
                await app(scope, receive, send)
            finally:
                self.spans.append((t0, time.time()))

        return timed

    def busy(self, start: float, end: float) -> float:
        """Seconds within [start, end] during which at least one venue request was in
        flight (overlapping requests count once)."""
        clipped = sorted(
            (max(a, start), min(b, end)) for a, b in self.spans if b > start and a < end
        )
        total, cur_a, cur_b = 0.0, None, None
        for a, b in clipped:
            if cur_b is None or a > cur_b:
                if cur_b is not None and cur_a is not None:
                    total += cur_b - cur_a
                cur_a, cur_b = a, b
            else:
                cur_b = max(cur_b, b)
        if cur_a is not None and cur_b is not None:
            total += cur_b - cur_a
        return total


@asynccontextmanager
async def scratch_database(postgres_admin: str | None) -> AsyncIterator[str]:
    """A migrated database for one run: a new Postgres database dropped afterwards, or a
    SQLite file when ``postgres_admin`` is None."""
    if postgres_admin is None:
        work = Path(tempfile.mkdtemp(prefix="basis-bench-db-"))
        url = f"sqlite+aiosqlite:///{work / 'bench.db'}"
        try:
            await _migrate(url)
            yield url
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    import asyncpg

    name = f"basis_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres_admin)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = postgres_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        url = f"{base}/{name}"
        await _migrate(url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@asynccontextmanager
async def bench_world(
    *,
    postgres_admin: str | None = POSTGRES_ADMIN,
    wrap: Callable[[ASGIApp], ASGIApp] | None = None,
) -> AsyncIterator[ChaosWorld]:
    work = Path(tempfile.mkdtemp(prefix="basis-bench-"))
    env = await WorkflowEnvironment.start_local(
        namespace="basis",
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=search.ALL,
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
    )
    try:
        target = env.client.service_client.config.target_host
        queue = f"bench-{uuid.uuid4().hex[:6]}"
        async with (
            scratch_database(postgres_admin) as db_url,
            chaos_world(env.client, target, db_url, queue, work, wrap=wrap) as world,
        ):
            yield world
    finally:
        await env.shutdown()
        shutil.rmtree(work, ignore_errors=True)


def database_options(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--postgres", default=POSTGRES_ADMIN, help="admin URL of a Postgres server")
    ap.add_argument("--sqlite", action="store_true", help="a SQLite file instead of Postgres")


def postgres_admin(args: argparse.Namespace) -> str | None:
    """The Postgres admin URL the options chose, or None for SQLite."""
    return None if args.sqlite else str(args.postgres)


@dataclass
class Cycle:
    """One cycle workflow run through the worker, with what it cost."""

    report: Any
    wall_s: float
    worker_cpu_s: float
    emulators_cpu_s: float
    """This process's CPU: the emulators (and the little the driver itself uses)."""


async def timed_cycle(world: ChaosWorld, run: Any, name: str) -> Cycle:
    """Run a cycle workflow (``MonitorCycleWorkflow.run``, ``IntentScanWorkflow.run``) as its
    schedule would, and time it."""
    assert world.worker.proc is not None
    pid = world.worker.proc.pid
    w0, e0, started = cpu_seconds(pid), time.process_time(), time.monotonic()
    report = await world.client.execute_workflow(
        run, world.cfg, id=f"{name}-{uuid.uuid4().hex[:8]}", task_queue=world.cfg.engine_queue
    )
    return Cycle(
        report=report,
        wall_s=time.monotonic() - started,
        worker_cpu_s=cpu_seconds(pid) - w0,
        emulators_cpu_s=time.process_time() - e0,
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    """The ``p`` quantile (0..1) by nearest rank."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p * (len(s) - 1))))]
