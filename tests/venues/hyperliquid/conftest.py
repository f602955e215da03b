"""Fixtures for the Hyperliquid venue: a scripted market, the emulator served by uvicorn on a
real local port, and the real client (over the real SDK) pointed at it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from basis.ports import free_port
from models.domain import Asset, Venue
from venues.emulators.faults import FaultInjector
from venues.emulators.hyperliquid import EmulatorConfig, HyperliquidEmulator, create_app
from venues.hyperliquid import HyperliquidClient, HyperliquidVenue, LocalSigner
from venues.market import MarketSource, MarketState, SimClock
from venues.market.source import FundingPoint

START = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
INTEREST = Decimal("0.0000125")


class ScriptedMarket:
    """A market a test writes by hand: SOL price steps and per-hour funding rates, so every
    expected number can be computed on paper. The perp mark equals the oracle."""

    def __init__(self, price: Decimal = Decimal(100), rate: Decimal = INTEREST) -> None:
        self._steps: list[tuple[datetime, Decimal]] = [(datetime(2000, 1, 1, tzinfo=UTC), price)]
        self._rates: dict[datetime, Decimal] = {}
        self.default_rate = rate
        self.outages: list[tuple[datetime, datetime]] = []

    def set_price(self, at: datetime, price: Decimal) -> None:
        self._steps.append((at, price))
        self._steps.sort(key=lambda s: s[0])

    def set_rate(self, hour: datetime, rate: Decimal) -> None:
        """The rate settled at ``hour`` (for the hour that ends there)."""
        self._rates[hour] = rate

    def rate_at(self, hour: datetime) -> Decimal:
        return self._rates.get(hour, self.default_rate)

    def price(self, at: datetime) -> Decimal:
        return [p for t, p in self._steps if t <= at][-1]

    def state_at(self, at: datetime) -> MarketState:
        next_hour = at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        rate = self.rate_at(next_hour)
        p = self.price(at)
        return MarketState(
            at=at,
            sol_price=p,
            perp_mark=p,
            funding_rate=rate,
            premium=rate - INTEREST,
            lst_exchange_rate={Asset.SOL: Decimal(1)},
            lst_market_price_sol={Asset.SOL: Decimal(1)},
            staking_apy={},
            protocols=(),
            outages=frozenset(
                {Venue.HYPERLIQUID} if any(a <= at < b for a, b in self.outages) else set()
            ),
        )

    def funding_history(self, start: datetime, end: datetime) -> list[FundingPoint]:
        hour = start.replace(minute=0, second=0, microsecond=0)
        if hour < start:
            hour += timedelta(hours=1)
        out = []
        while hour < end:
            rate = self.rate_at(hour)
            out.append(FundingPoint(time=hour, rate=rate, premium=rate - INTEREST))
            hour += timedelta(hours=1)
        return out

    def price_range(self, start: datetime, end: datetime) -> tuple[Decimal, Decimal]:
        seen = [self.price(start)] + [p for t, p in self._steps if start < t <= end]
        return min(seen), max(seen)


@dataclass
class Served:
    base_url: str
    emulator: HyperliquidEmulator
    clock: SimClock
    faults: FaultInjector
    http: httpx.Client

    def fund(self, address: str, usdc: str | int, *, spot: bool = False) -> None:
        r = self.http.post(
            "/admin/fund", json={"address": address, "usdc": str(usdc), "spot": spot}
        )
        r.raise_for_status()

    def account(self, address: str) -> dict[str, object]:
        r = self.http.get(f"/admin/accounts/{address}")
        r.raise_for_status()
        data: dict[str, object] = r.json()
        return data


class _Switchboard:
    """One uvicorn server for the whole session, passing each request to the emulator app
    of the current test: starting and stopping a server per test costs more than the test."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None
        self.base_url = ""
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self.app
        if app is None:
            await PlainTextResponse("no emulator mounted", status_code=503)(scope, receive, send)
            return
        await app(scope, receive, send)

    def start(self) -> str:
        with self._lock:
            if self.server is None:
                port = free_port()
                self.server = uvicorn.Server(
                    uvicorn.Config(
                        self,
                        host="127.0.0.1",
                        port=port,
                        log_level="critical",
                        lifespan="off",
                        timeout_graceful_shutdown=1,
                    )
                )
                self.thread = threading.Thread(target=self.server.run, daemon=True)
                self.thread.start()
                deadline = time.monotonic() + 10
                while not self.server.started:
                    if time.monotonic() > deadline or not self.thread.is_alive():
                        raise RuntimeError("the emulator server did not start")
                    time.sleep(0.005)
                self.base_url = f"http://127.0.0.1:{port}"
            return self.base_url

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=10)


_BOARD = _Switchboard()


@pytest.fixture(scope="session", autouse=True)
def _emulator_server() -> Iterator[None]:
    yield
    _BOARD.stop()


def serve(
    market: MarketSource,
    clock: SimClock,
    *,
    state_file: Path | None = None,
    config: EmulatorConfig | None = None,
) -> Iterator[Served]:
    """A fresh emulator served on a real local port (uvicorn) for the duration."""
    faults = FaultInjector(seed=1)
    app = create_app(market, clock, faults=faults, state_file=state_file, config=config)
    base = _BOARD.start()
    _BOARD.app = app
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            yield Served(base, app.state.emulator, clock, faults, http)
    finally:
        _BOARD.app = None


@pytest.fixture
def market() -> ScriptedMarket:
    return ScriptedMarket()


@pytest.fixture
def clock() -> SimClock:
    return SimClock(START)


@pytest.fixture
def hl(market: ScriptedMarket, clock: SimClock) -> Iterator[Served]:
    yield from serve(market, clock)


async def connect(served: Served, **kwargs: Any) -> HyperliquidVenue:
    options: dict[str, Any] = {
        "timeout": 2.0,
        "order_ttl": timedelta(milliseconds=400),
        "settle_margin": timedelta(milliseconds=100),
    }
    options.update(kwargs)
    return await HyperliquidVenue.connect(served.base_url, **options)


@pytest.fixture
async def venue(hl: Served) -> HyperliquidVenue:
    return await connect(hl)


@pytest.fixture
def user(hl: Served) -> LocalSigner:
    """A funded account (10,000 USDC in perp) signing with its own key."""
    signer = LocalSigner.generate()
    hl.fund(signer.address, 10_000)
    return signer


@pytest.fixture
def client(venue: HyperliquidVenue, user: LocalSigner) -> HyperliquidClient:
    return HyperliquidClient(venue, user)


@pytest.fixture
async def agent_client(
    venue: HyperliquidVenue, client: HyperliquidClient, user: LocalSigner
) -> HyperliquidClient:
    """An API wallet approved by ``user``, trading for it."""
    agent = LocalSigner.generate()
    await client.approve_agent(agent.address, "bot")
    return HyperliquidClient(venue, agent, account_address=user.address)
