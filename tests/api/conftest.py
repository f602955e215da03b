"""In-process API clients, fake venue reads, and signing in the real way: the one-time-code
flow with a capturing code sender, then an API token created through the API."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.main import create_app
from api.security.codes import CapturingCodeSender
from api.venues import HyperliquidFunds, SolanaFunds, VenueUnavailable
from basis.config import Settings, load_settings
from basis.db import create_engine
from basis.migrate import upgrade
from models.domain import Venue
from strategy.market import MarketSnapshot
from tests.conftest import _run_in_thread as run_in_thread
from tests.unit.strategy.builders import snapshot
from tests.workflows.fakes import FakeWorld
from worker import WorkerDeps, build_workers

ApiFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


class FakeClock:
    """Wall time for the API (``create_app(clock=...)``) and monotonic time for its rate
    limiter, moved together by ``advance``. Starts at the real time."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.mono = 1000.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.mono += seconds


@asynccontextmanager
async def serve(
    app: FastAPI, base_url: str = "http://testserver"
) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as c:
            yield c


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per session; each test gets a copy (a copy takes a
    millisecond, running the migrations a fifth of a second)."""
    path = tmp_path_factory.mktemp("template") / "basis.db"

    async def migrate() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        await engine.dispose()

    run_in_thread(migrate())
    return path


@pytest.fixture
def api_db(migrated_template: Path, tmp_path: Path) -> str:
    """A fresh, migrated SQLite database for one test."""
    target = tmp_path / "basis.db"
    shutil.copyfile(migrated_template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
def api_factory() -> ApiFactory:
    @asynccontextmanager
    async def make(settings: Settings, **kw: Any) -> AsyncIterator[httpx.AsyncClient]:
        async with serve(create_app(settings, **kw)) as client:
            yield client

    return make


def api_settings(db_url: str, **overrides: Any) -> Settings:
    """Settings for in-process API tests: no paper deposits (the emulators' default ports may
    belong to someone else's stack) and rate limits out of the way unless a test sets them."""
    s = load_settings(database_url=db_url, paper_deposits=False, **overrides)
    r = s.auth.rate_limits
    r.ip_per_second = r.user_per_second = 1000.0
    r.ip_burst = r.user_burst = 100_000
    r.login_per_minute = r.code_requests_per_hour = 100_000.0
    r.login_burst = r.code_requests_burst = 100_000
    return s


@dataclass
class FakeVenues:
    """``VenueReader`` with balances a test sets per address (rich by default)."""

    usdc: Decimal = Decimal(1_000_000)
    sol: Decimal = Decimal(5)
    withdrawable: Decimal = Decimal(1_000_000)
    per_address: dict[str, Decimal] = field(default_factory=dict)
    down: set[Venue] = field(default_factory=set)
    market_snapshot: MarketSnapshot = field(default_factory=snapshot)

    async def solana_funds(self, address: str) -> SolanaFunds:
        if Venue.ASGARD in self.down:
            raise VenueUnavailable(Venue.ASGARD, "Solana RPC unreachable (test)")
        return SolanaFunds(address, self.sol, self.per_address.get(address, self.usdc))

    async def hyperliquid_funds(self, address: str) -> HyperliquidFunds:
        if Venue.HYPERLIQUID in self.down:
            raise VenueUnavailable(Venue.HYPERLIQUID, "Hyperliquid unreachable (test)")
        w = self.per_address.get(address, self.withdrawable)
        return HyperliquidFunds(address, w, w)

    async def market(self) -> MarketSnapshot:
        if len(self.down) == 2:
            raise VenueUnavailable(None, "neither venue answered (test)")
        return self.market_snapshot.model_copy(update={"outages": frozenset(self.down)})

    async def aclose(self) -> None:
        return None


@dataclass
class SignedIn:
    """A browser session: the cookie, the CSRF token and who it is."""

    email: str
    cookie: str
    csrf: str
    user: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.user["id"])

    def headers(self, *, csrf: bool = True) -> dict[str, str]:
        h = {"Cookie": f"basis_session={self.cookie}"}
        if csrf:
            h["X-CSRF-Token"] = self.csrf
        return h


async def sign_in(api: httpx.AsyncClient, sender: CapturingCodeSender, email: str) -> SignedIn:
    """The one-time-code flow, as a browser does it."""
    r = await api.post("/api/v1/auth/otp/request", json={"email": email})
    assert r.status_code == 202, r.text
    r = await api.post("/api/v1/auth/otp/verify", json={"email": email, "code": sender.last(email)})
    assert r.status_code == 200, r.text
    cookie = r.cookies.get("basis_session")
    assert cookie, r.headers
    api.cookies.clear()  # each caller states its credential explicitly
    body = r.json()
    return SignedIn(email=email, cookie=cookie, csrf=body["csrf_token"], user=body["user"])


async def api_token(api: httpx.AsyncClient, who: SignedIn, name: str = "tests") -> str:
    r = await api.post("/api/v1/auth/tokens", json={"name": name}, headers=who.headers())
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


async def bearer(api: httpx.AsyncClient, sender: CapturingCodeSender, email: str) -> dict[str, str]:
    """Sign in by code, then create an API token: the headers a script would send."""
    who = await sign_in(api, sender, email)
    return {"Authorization": f"Bearer {await api_token(api, who)}"}


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


@dataclass
class TradingEnv:
    """The API over real workflows and the real ledger, venue activities scripted."""

    api: httpx.AsyncClient
    world: FakeWorld
    venues: FakeVenues
    codes: CapturingCodeSender
    settings: Settings
    app: FastAPI
    temporal: Client

    async def user(self, email: str | None = None) -> dict[str, str]:
        return await bearer(self.api, self.codes, email or unique_email())

    async def signed_in(self, email: str | None = None) -> SignedIn:
        return await sign_in(self.api, self.codes, email or unique_email())

    async def operator(self, email: str | None = None) -> dict[str, str]:
        from api.services.accounts import set_role
        from basis.clock import utc_now
        from models.domain import UserRole

        address = email or unique_email("ops")
        await set_role(self.app.state.sessions, address, UserRole.OPERATOR, utc_now())
        return await bearer(self.api, self.codes, address)


@pytest.fixture
async def trading(
    temporal_env: WorkflowEnvironment, api_db: str, task_queue: str
) -> AsyncIterator[TradingEnv]:
    settings = api_settings(api_db)
    settings.temporal.task_queue = task_queue
    settings.temporal.venue_task_queue = f"{task_queue}-venues"
    world, venues, codes = FakeWorld(), FakeVenues(), CapturingCodeSender()
    deps = WorkerDeps(settings=settings, engine=create_engine(api_db))
    engine_worker = build_workers(temporal_env.client, deps, roles=["engine"])[0]
    venue_worker = Worker(
        temporal_env.client,
        task_queue=settings.temporal.venue_task_queue,
        activities=world.activities(),
    )
    app = create_app(settings, temporal=temporal_env.client, code_sender=codes, venues=venues)
    async with engine_worker, venue_worker, serve(app) as api:
        yield TradingEnv(api, world, venues, codes, settings, app, temporal_env.client)
    await deps.aclose()
