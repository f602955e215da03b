"""Chaos harness: opens and closes through a real worker *process* that is killed (SIGKILL)
at chosen points and restarted, against the emulators and the Temporal server, which outlive
it. After each run the invariants are checked against the venues' own records:

- the run ends hedged (OPEN) or fully unwound (FAILED / CLOSED), never HALTED;
- no leg stood naked longer than ``max_single_leg_exposure_seconds`` (venue timestamps);
- no duplicate order: one Asgard position per open, the Hyperliquid short equal to the
  database's (an extra order would over-hedge);
- the database equals the venues (status, sizes, the long's PDA).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import httpx
import uvicorn
from sqlmodel import select
from starlette.types import ASGIApp
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client, WorkflowHandle

from basis.config import Settings, load_settings
from basis.db import create_engine, session_factory
from basis.engine import engine_config
from basis.ports import free_port
from basis.stack import die_with_parent
from models.domain import Asset, LegSide, PositionStatus
from models.messages import (
    ClosePositionInput,
    EngineConfig,
)
from models.tables import Leg, Position, User
from tests.intents import authorised_open
from venues.emulators.combined import PaperVenues, _QuietServer, build
from venues.hyperliquid.venue import HyperliquidVenue
from wallets.keystore import LocalKeystore, UserWallets
from wallets.paper import PaperFaucet
from workflows.close_position import ClosePositionWorkflow
from workflows.open_position import OpenPositionWorkflow

BIN = Path(sys.executable).parent
Moment = Literal["during", "after_act", "after"]


@dataclass(frozen=True)
class KillPoint:
    """Where to kill the worker: in ``activity`` (while the venue is slowed at ``venue_point``
    before acting, ``during``; or after acting, before answering, ``after_act``), or right
    after the activity completed (``after``)."""

    activity: str
    moment: Moment
    venue: Literal["hyperliquid", "asgard", "none"] = "none"
    venue_point: str = ""

    @property
    def name(self) -> str:
        return f"{self.activity}:{self.moment}"

    def fault(self) -> dict[str, Any] | None:
        if self.moment == "during":
            return {"kind": "latency", "match": self.venue_point, "delay_s": 2.0, "count": 1}
        if self.moment == "after_act":
            kind = "slow_response" if self.venue == "hyperliquid" else "lost_response"
            return {"kind": kind, "match": self.venue_point, "delay_s": 2.0, "count": 1}
        return None


OPEN_POINTS = [
    KillPoint("create_position", "after"),
    KillPoint("set_leverage", "during", "hyperliquid", "exchange:updateLeverage"),
    KillPoint("open_long", "during", "asgard", "asgard:create-position"),
    KillPoint("open_long", "after_act", "asgard", "asgard:submit-create-position-tx"),
    KillPoint("open_long", "after"),
    KillPoint("place_hedge", "during", "hyperliquid", "exchange:order"),
    KillPoint("place_hedge", "after_act", "hyperliquid", "exchange:order"),
    KillPoint("place_hedge", "after"),
    KillPoint("record_position_open", "after"),
]

CLOSE_POINTS = [
    KillPoint("begin_close", "after"),
    KillPoint("place_hedge", "during", "hyperliquid", "exchange:order"),
    KillPoint("place_hedge", "after_act", "hyperliquid", "exchange:order"),
    KillPoint("place_hedge", "after"),
    KillPoint("close_long", "during", "asgard", "asgard:close-position"),
    KillPoint("close_long", "after_act", "asgard", "asgard:submit-close-position-tx"),
    KillPoint("close_long", "after"),
    KillPoint("settle_close", "during", "hyperliquid", "info:userFunding"),
    KillPoint("record_position_closed", "after"),
]


class WorkerProcess:
    """``basis worker`` as a child process, killable like a crashed machine."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    async def start(self, timeout: float = 60) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [str(BIN / "basis"), "worker"],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,  # no orphan if the harness itself is killed
        )
        out.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited ({self.proc.returncode}); see {self.log}")
            with self.log.open("rb") as f:
                f.seek(offset)
                if b"worker started" in f.read():
                    return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"worker not started in {timeout}s; see {self.log}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Outcome:
    case: str
    status: str
    violations: list[str] = field(default_factory=list)
    exposure_s: float | None = None
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.violations


@dataclass
class ChaosWorld:
    client: Client
    settings: Settings
    venues: PaperVenues
    worker: WorkerProcess
    cfg: EngineConfig
    hl_admin: httpx.AsyncClient
    asgard_admin: httpx.AsyncClient
    hyperliquid: HyperliquidVenue

    @property
    def max_exposure(self) -> float:
        return float(self.cfg.max_single_leg_exposure_seconds)

    # ---- set-up ----------------------------------------------------------------------------

    async def new_user(self) -> tuple[uuid.UUID, UserWallets]:
        engine = create_engine(self.settings.database_url)
        try:
            sessions = session_factory(engine)
            async with sessions() as s, s.begin():
                user = User(created_at=self.venues.clock.now())
                s.add(user)
            keystore = LocalKeystore(sessions, self.settings.server_secret.get_secret_value())
            wallets = await keystore.ensure_wallets(user.id)
        finally:
            await engine.dispose()
        await PaperFaucet(self.settings).deposit(wallets)
        return user.id, wallets

    async def fault(self, point: KillPoint) -> None:
        rule = point.fault()
        if rule is None:
            return
        admin = self.hl_admin if point.venue == "hyperliquid" else self.asgard_admin
        (await admin.post("/admin/faults", json=rule)).raise_for_status()

    async def clear_faults(self) -> None:
        await self.hl_admin.delete("/admin/faults")
        await self.asgard_admin.delete("/admin/faults")

    # ---- runs ------------------------------------------------------------------------------

    async def open(
        self, user_id: uuid.UUID, *, asset: Asset = Asset.SOL, capital: str = "10000"
    ) -> tuple[uuid.UUID, WorkflowHandle[Any, Any]]:
        inp = await authorised_open(
            self.settings.database_url,
            user_id,
            asset=asset,
            leverage=Decimal(3),
            capital_usd=Decimal(capital),
            config=self.cfg,
            now=self.venues.clock.now(),
        )
        handle = await self.client.start_workflow(
            OpenPositionWorkflow.run,
            inp,
            id=f"open-{inp.position_id}",
            task_queue=self.cfg.engine_queue,
        )
        return inp.position_id, handle

    async def close(self, user_id: uuid.UUID, pid: uuid.UUID) -> WorkflowHandle[Any, Any]:
        return await self.client.start_workflow(
            ClosePositionWorkflow.run,
            ClosePositionInput(position_id=pid, user_id=user_id, reason="chaos", config=self.cfg),
            id=f"close-{pid}",
            task_queue=self.cfg.engine_queue,
        )

    async def kill_at(self, handle: WorkflowHandle[Any, Any], point: KillPoint) -> bool:
        """Wait for ``point`` in the workflow and SIGKILL the worker there. False when the
        workflow ended without reaching it."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            desc = await handle.describe()
            if desc.status is not None and desc.status.name != "RUNNING":
                # The last step may finish the workflow before we look: the kill still
                # lands after it (and the restart must find nothing left to do).
                if point.moment == "after" and await _completed(handle, point.activity):
                    self.worker.kill()
                    return True
                return False
            if point.moment == "after":
                if await _completed(handle, point.activity):
                    self.worker.kill()
                    return True
            else:
                for pa in desc.raw_description.pending_activities:
                    if (
                        pa.activity_type.name == point.activity
                        and pa.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                    ):
                        # Inside the slowed venue call: before it acts (during) or after it
                        # acted and before it answers (after_act).
                        await asyncio.sleep(0.5 if point.moment == "during" else 0.8)
                        self.worker.kill()
                        return True
            await asyncio.sleep(0.02)
        raise TimeoutError(f"{point.name} not reached")

    # ---- invariants ------------------------------------------------------------------------

    async def check(
        self, case: str, user_id: uuid.UUID, wallets: UserWallets, pid: uuid.UUID, result: Any
    ) -> Outcome:
        status = str(result.status.value)
        out = Outcome(case=case, status=status)
        v = out.violations
        engine = create_engine(self.settings.database_url)
        try:
            async with session_factory(engine)() as s:
                pos = await s.get(Position, pid)
                legs = {
                    LegSide(leg.side): leg
                    for leg in (await s.exec(select(Leg).where(Leg.position_id == pid))).all()
                }
        finally:
            await engine.dispose()
        hl = (await self.hl_admin.get(f"/admin/accounts/{wallets.evm_address}")).json()
        sol = hl.get("positions", {}).get("SOL")
        held = -Decimal(str(sol["szi"])) if sol else Decimal(0)
        asgard = (await self.asgard_admin.get(f"/admin/wallets/{wallets.solana_address}")).json()
        records = [p for p in asgard.get("positions", []) if p.get("opened")]
        if pos is None:
            v.append("no position row")
            return out
        if pos.status != result.status:
            v.append(f"database says {pos.status}, workflow {result.status}")
        if status == "halted":
            v.append(f"halted: {pos.halt_reason}")
        if len(records) > 1:
            v.append(f"{len(records)} Asgard positions for one open (duplicate)")
        short_db = legs[LegSide.SHORT].size if LegSide.SHORT in legs else Decimal(0)
        if status == "open":
            if abs(held - short_db) > Decimal("0.005"):
                v.append(f"Hyperliquid short {held} != database {short_db}")
            if not records or records[0]["state"] != 0:
                v.append("no active Asgard long behind an open position")
            elif records[0]["pda"] != legs[LegSide.LONG].venue_ref:
                v.append("the database's PDA is not the venue's")
            elif abs(self._long_in_sol(records[0]) - held) > held * Decimal("0.02"):
                v.append(f"legs differ: long {records[0]['collateral']} vs short {held}")
        else:
            if held != 0:
                v.append(f"Hyperliquid still short {held} after {status}")
            if any(r["state"] == 0 for r in records):
                v.append(f"an Asgard long is still active after {status}")
        out.exposure_s = await self._exposure(wallets, records, status)
        if out.exposure_s is not None and out.exposure_s > self.max_exposure:
            v.append(f"a leg stood alone {out.exposure_s:.1f}s > {self.max_exposure:.0f}s")
        return out

    def _long_in_sol(self, record: dict[str, Any]) -> Decimal:
        """The long's collateral in SOL (a liquid-staking token is worth its stake-pool rate
        in SOL; the short hedges the SOL)."""
        state = self.venues.market.state_at(self.venues.clock.now())
        rate = state.lst_exchange_rate.get(Asset(record["asset"]), Decimal(1))
        return Decimal(record["collateral"]) * rate

    async def _exposure(
        self, wallets: UserWallets, records: list[dict[str, Any]], status: str
    ) -> float | None:
        """From the long landing to the hedge's last opening fill (open) or to the long's
        close (unwound), by the venues' own clocks."""
        if not records:
            return None
        from datetime import datetime

        opened = datetime.fromisoformat(records[0]["opened_at"])
        if status == "open":
            fills = await self.hyperliquid.user_fills(wallets.evm_address)
            sells = [f.time for f in fills if f.side.value == "sell" and f.time >= opened]
            return (max(sells) - opened).total_seconds() if sells else None
        closed_at = records[0].get("closed_at")
        if closed_at is None:
            return None
        closed = datetime.fromisoformat(closed_at)
        if status == "closed":
            # The long alone: from the short's last buy-back to the long's close.
            fills = await self.hyperliquid.user_fills(wallets.evm_address)
            buys = [f.time for f in fills if f.side.value == "buy" and f.time >= opened]
            # The two venues' clocks differ by a slot: never report a negative window.
            return max(0.0, (closed - max(buys)).total_seconds()) if buys else None
        return (closed - opened).total_seconds()


async def _completed(handle: WorkflowHandle[Any, Any], activity_name: str) -> bool:
    scheduled: dict[int, str] = {}
    async for e in handle.fetch_history_events():
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[e.event_id] = e.activity_task_scheduled_event_attributes.activity_type.name
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            sid = e.activity_task_completed_event_attributes.scheduled_event_id
            if scheduled.get(sid) == activity_name:
                return True
    return False


@asynccontextmanager
async def chaos_world(
    client: Client,
    temporal_target: str,
    db_url: str,
    task_queue: str,
    workdir: Path,
    *,
    wrap: Callable[[ASGIApp], ASGIApp] | None = None,
) -> AsyncIterator[ChaosWorld]:
    """The emulators served from this process, ``basis worker`` as a child. ``wrap`` wraps
    each emulator's ASGI app (the benchmarks time the venue requests with it)."""
    venues = build(scenario="calm", seed=11, speed=1.0, state_dir=None)
    hl_port, asgard_port = free_port(), free_port()
    servers = [
        _QuietServer(
            uvicorn.Config(
                wrap(app) if wrap else app,
                host="127.0.0.1",
                port=port,
                log_config=None,
                lifespan="off",
                backlog=4096,  # the monitor benchmark opens hundreds of connections at once
            )
        )
        for app, port in ((venues.hyperliquid, hl_port), (venues.asgard, asgard_port))
    ]
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    while not all(s.started for s in servers):
        await asyncio.sleep(0.02)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BASIS_")},
        "BASIS_DATABASE_URL": db_url,
        "BASIS_STATE_DIR": str(workdir),
        "BASIS_TEMPORAL__ADDRESS": temporal_target,
        "BASIS_TEMPORAL__NAMESPACE": client.namespace,
        "BASIS_TEMPORAL__TASK_QUEUE": task_queue,
        "BASIS_TEMPORAL__VENUE_TASK_QUEUE": f"{task_queue}-venues",
        "BASIS_TEMPORAL__SCHEDULES": "false",
        "BASIS_EMULATORS__HYPERLIQUID_PORT": str(hl_port),
        "BASIS_EMULATORS__ASGARD_PORT": str(asgard_port),
        "BASIS_LOG_LEVEL": "INFO",
    }
    settings = load_settings(database_url=db_url)
    settings.emulators.hyperliquid_port, settings.emulators.asgard_port = hl_port, asgard_port
    settings.venues.hyperliquid_url = f"http://127.0.0.1:{hl_port}"
    settings.temporal.task_queue = task_queue
    settings.temporal.venue_task_queue = f"{task_queue}-venues"
    worker = WorkerProcess(env, workdir / "worker.log")
    try:
        await worker.start()
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{hl_port}", timeout=30) as hl_admin,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{asgard_port}", timeout=30) as asg,
        ):
            yield ChaosWorld(
                client=client,
                settings=settings,
                venues=venues,
                worker=worker,
                cfg=engine_config(settings),
                hl_admin=hl_admin,
                asgard_admin=asg,
                hyperliquid=await HyperliquidVenue.connect(f"http://127.0.0.1:{hl_port}"),
            )
    finally:
        worker.stop()
        for s in servers:
            s.should_exit = True
        await asyncio.gather(*tasks)


async def crash_open(world: ChaosWorld, point: KillPoint, asset: Asset = Asset.SOL) -> Outcome:
    """One open with the worker killed at ``point``, then restarted."""
    started = time.monotonic()
    user_id, wallets = await world.new_user()
    await world.fault(point)
    pid, handle = await world.open(user_id, asset=asset)
    reached = await world.kill_at(handle, point)
    if reached:
        await world.clear_faults()
        await world.worker.start()
    result = await asyncio.wait_for(handle.result(), timeout=240)
    out = await world.check(f"open {asset.value} {point.name}", user_id, wallets, pid, result)
    if not reached:
        out.violations.append(f"{point.name} was never reached")
    out.duration_s = time.monotonic() - started
    return out


async def crash_close(world: ChaosWorld, point: KillPoint, asset: Asset = Asset.SOL) -> Outcome:
    """Open cleanly, then close with the worker killed at ``point``, then restarted."""
    started = time.monotonic()
    user_id, wallets = await world.new_user()
    pid, handle = await world.open(user_id, asset=asset)
    opened = await handle.result()
    if opened.status is not PositionStatus.OPEN:
        return Outcome(
            f"close {asset.value} {point.name}",
            opened.status.value,
            [f"open failed: {opened.reason}"],
        )
    await world.fault(point)
    close = await world.close(user_id, pid)
    reached = await world.kill_at(close, point)
    if reached:
        await world.clear_faults()
        await world.worker.start()
    result = await asyncio.wait_for(close.result(), timeout=240)
    out = await world.check(f"close {asset.value} {point.name}", user_id, wallets, pid, result)
    if result.status is PositionStatus.CLOSED and result.pnl is not None:
        p = result.pnl
        if p.funding + p.staking + p.lending + p.borrow + p.price + p.fees != p.total:
            out.violations.append("PnL split does not sum to its total")
    if not reached:
        out.violations.append(f"{point.name} was never reached")
    out.duration_s = time.monotonic() - started
    return out


class TemporalServer:
    """The Temporal dev server as a child process on a persistent file, so it can be killed
    and restarted with its state (as a cluster node would come back)."""

    def __init__(self, workdir: Path, namespace: str = "basis") -> None:
        from models import search

        self.port = free_port()
        self.workdir = workdir
        self.argv = [
            str(BIN / "temporal"),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--headless",
            "--db-filename",
            str(workdir / "temporal.db"),
            "--namespace",
            namespace,
            "--log-level",
            "error",
            *search.dev_server_flags(),
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self, timeout: float = 60) -> None:
        log = (self.workdir / "temporal.log").open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    await asyncio.sleep(1.0)  # frontend up; let the namespace settle
                    return
            await asyncio.sleep(0.2)
        raise RuntimeError("Temporal dev server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


async def result_through_outages(handle: WorkflowHandle[Any, Any], timeout: float) -> Any:
    """A workflow's result, polling through a Temporal outage (the client reconnects)."""
    from temporalio.service import RPCError

    deadline = time.monotonic() + timeout
    while True:
        try:
            return await asyncio.wait_for(
                handle.result(), timeout=max(1.0, deadline - time.monotonic())
            )
        except (RPCError, RuntimeError) as exc:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no result through the outage: {exc}") from exc
            await asyncio.sleep(0.5)


async def restart_temporal_mid_open(world: ChaosWorld, server: TemporalServer) -> Outcome:
    """Kill the Temporal server while the long leg is being opened, bring it back on the same
    state, and let the open finish."""
    started = time.monotonic()
    user_id, wallets = await world.new_user()
    point = KillPoint("open_long", "after_act", "asgard", "asgard:submit-create-position-tx")
    await world.fault(point)
    pid, handle = await world.open(user_id)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        desc = await handle.describe()
        if any(
            pa.activity_type.name == "open_long"
            and pa.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            for pa in desc.raw_description.pending_activities
        ):
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.8)
    server.kill()
    await asyncio.sleep(2.0)
    await server.start()
    await world.clear_faults()
    result = await result_through_outages(handle, 240)
    out = await world.check("temporal restart mid-open", user_id, wallets, pid, result)
    out.duration_s = time.monotonic() - started
    return out
