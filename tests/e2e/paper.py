"""The paper world in one test process: both emulators on real local ports over one simulated
market, a worker with both roles on the real Temporal dev server, and the API in-process.
Everything talks over the real protocols; only the clock is shared with the simulation, so a
test can jump hours ahead."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import ASGIApp
from temporalio.client import Client

from api.main import create_app
from api.security.codes import CapturingCodeSender
from api.services.accounts import set_role
from basis.clock import utc_now
from basis.config import Settings, load_settings
from basis.engine import engine_config
from basis.ports import free_port
from models.domain import UserRole
from models.messages import EngineConfig, MonitorReport, ScanReport
from tests.api.conftest import bearer, serve, unique_email
from venues.emulators.combined import PaperVenues, _QuietServer, build
from worker import build_deps, build_workers, connect_venues
from workflows.cycles import IntentScanWorkflow, MonitorCycleWorkflow


@dataclass
class Paper:
    api: httpx.AsyncClient
    temporal: Client
    settings: Settings
    venues: PaperVenues
    hl_admin: httpx.AsyncClient
    asgard_admin: httpx.AsyncClient
    cfg: EngineConfig
    codes: CapturingCodeSender
    api_sessions: async_sessionmaker[AsyncSession]

    async def new_user(self, email: str | None = None) -> dict[str, str]:
        """A new user signed in the real way (one-time code, then an API token): wallets
        created, paper money deposited. The headers a script would send."""
        return await bearer(self.api, self.codes, email or unique_email("paper"))

    async def operator(self) -> dict[str, str]:
        email = unique_email("ops")
        await set_role(self.api_sessions, email, UserRole.OPERATOR, utc_now())
        return await bearer(self.api, self.codes, email)

    async def me(self, headers: dict[str, str]) -> dict[str, Any]:
        r = await self.api.get("/api/v1/auth/me", headers=headers)
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    async def advance(self, seconds: float) -> None:
        """Move the shared clock; both venues catch up (funding, interest) on their next
        request."""
        r = await self.hl_admin.post("/admin/clock/advance", json={"seconds": seconds})
        r.raise_for_status()

    async def market(self, path: str, **body: Any) -> dict[str, Any]:
        r = await self.asgard_admin.post(f"/admin/market/{path}", json=body)
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    async def fault(self, venue: str, **rule: Any) -> None:
        admin = self.hl_admin if venue == "hyperliquid" else self.asgard_admin
        (await admin.post("/admin/faults", json=rule)).raise_for_status()

    async def scan(self) -> ScanReport:
        return await self.temporal.execute_workflow(
            IntentScanWorkflow.run,
            self.cfg,
            id=f"scan-{uuid.uuid4().hex[:8]}",
            task_queue=self.cfg.engine_queue,
        )

    async def monitor(self) -> MonitorReport:
        return await self.temporal.execute_workflow(
            MonitorCycleWorkflow.run,
            self.cfg,
            id=f"monitor-{uuid.uuid4().hex[:8]}",
            task_queue=self.cfg.engine_queue,
        )

    async def until(
        self,
        path: str,
        headers: dict[str, str],
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = 30,
    ) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            r = await self.api.get(path, headers=headers)
            body = r.json()
            if r.status_code == 200 and predicate(body):
                return body  # type: ignore[no-any-return]
            assert asyncio.get_running_loop().time() < deadline, body
            await asyncio.sleep(0.2)


@asynccontextmanager
async def paper_world(
    temporal: Client,
    db_url: str,
    task_queue: str,
    *,
    scenario: str = "calm",
    risk_file: Path | None = None,
    wrap: Callable[[ASGIApp], ASGIApp] | None = None,
    **overrides: Any,
) -> AsyncIterator[Paper]:
    """``overrides`` are settings (``wallet_provider="privy"``, ``privy={...}``); ``wrap``
    wraps each emulator's ASGI app (a test counts the requests that reach a venue with it)."""
    venues = build(scenario=scenario, seed=7, speed=1.0, state_dir=None)
    hl_port, asgard_port = free_port(), free_port()
    servers = [
        _QuietServer(
            uvicorn.Config(
                wrap(app) if wrap else app,
                host="127.0.0.1",
                port=port,
                log_config=None,
                lifespan="off",
            )
        )
        for app, port in ((venues.hyperliquid, hl_port), (venues.asgard, asgard_port))
    ]
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    while not all(s.started for s in servers):
        await asyncio.sleep(0.02)
    overrides["database_url"] = db_url
    if risk_file is not None:
        overrides["risk_file"] = risk_file
    settings = load_settings(**overrides)
    settings.emulators.hyperliquid_port, settings.emulators.asgard_port = hl_port, asgard_port
    settings.venues.hyperliquid_url = f"http://127.0.0.1:{hl_port}"
    settings.venues.asgard_url = f"http://127.0.0.1:{asgard_port}/margin-trading"
    settings.venues.solana_rpc_url = f"http://127.0.0.1:{asgard_port}/solana"
    settings.temporal.task_queue = task_queue
    settings.temporal.venue_task_queue = f"{task_queue}-venues"
    deps = build_deps(settings)
    deps.clock = venues.clock.now
    deps.venues = await connect_venues(settings, clock=venues.clock.now)
    workers = build_workers(temporal, deps)
    codes = CapturingCodeSender()
    app = create_app(settings, temporal=temporal, code_sender=codes)
    try:
        async with (
            workers[0],
            workers[1],
            serve(app) as api,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{hl_port}", timeout=30) as hl_admin,
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{asgard_port}", timeout=30
            ) as asgard_admin,
        ):
            yield Paper(
                api=api,
                temporal=temporal,
                settings=settings,
                venues=venues,
                hl_admin=hl_admin,
                asgard_admin=asgard_admin,
                cfg=engine_config(settings),
                codes=codes,
                api_sessions=app.state.sessions,
            )
    finally:
        await deps.aclose()
        for s in servers:
            s.should_exit = True
        await asyncio.gather(*tasks)
