"""Test harness: a deterministic market, the emulator served by uvicorn on a free local
port, and a position manager wired to it whose sleeps advance the simulated clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from solders.keypair import Keypair
from starlette.applications import Starlette

from basis.ports import free_port
from models.domain import Asset, Protocol
from venues.asgard import AsgardClient, AsgardPositionManager, HealthUnit
from venues.emulators.asgard import DEFAULT_PROGRAM_ID, AsgardEmulator, EmulatorConfig, create_app
from venues.emulators.faults import FaultInjector, FaultRule
from venues.market import MarketState, SimClock
from venues.market.random_walk import default_protocols
from venues.market.source import FundingPoint, ProtocolMarket
from venues.solana import (
    KeypairSigner,
    SolanaRpc,
    SubmissionStore,
    TransactionPolicy,
    TransactionSigner,
)
from venues.solana.driver import SubmitPolicy

T0 = datetime(2026, 1, 1, tzinfo=UTC)
YEAR = timedelta(days=365)


class StaticMarket:
    """SOL at a price you set (a step function of time), LSTs accruing staking yield through
    their exchange rate, and fixed protocol terms: every figure can be computed by hand."""

    def __init__(
        self,
        sol_price: Decimal = Decimal(150),
        *,
        lst_rate0: Mapping[Asset, Decimal] | None = None,
        staking_apy: Mapping[Asset, Decimal] | None = None,
        protocols: tuple[ProtocolMarket, ...] | None = None,
        anchor: datetime = T0,
    ) -> None:
        self.anchor = anchor
        self.points: list[tuple[datetime, Decimal]] = [
            (datetime.min.replace(tzinfo=UTC), sol_price)
        ]
        self.lst_rate0 = dict(lst_rate0 or {a: Decimal(1) for a in Asset})
        self.staking = dict(staking_apy or {a: Decimal(0) for a in Asset})
        self.protocols = protocols or default_protocols()

    def set_price(self, at: datetime, price: Decimal) -> None:
        self.points.append((at, price))
        self.points.sort(key=lambda p: p[0])

    def sol_at(self, at: datetime) -> Decimal:
        return [p for t, p in self.points if t <= at][-1]

    def lst_rate(self, asset: Asset, at: datetime) -> Decimal:
        years = Decimal((at - self.anchor).total_seconds()) / Decimal(365 * 86400)
        return self.lst_rate0[asset] * (1 + self.staking[asset]) ** years

    def state_at(self, at: datetime) -> MarketState:
        sol = self.sol_at(at)
        rates = {a: self.lst_rate(a, at) for a in Asset}
        return MarketState(
            at=at,
            sol_price=sol,
            perp_mark=sol,
            funding_rate=Decimal("0.0000125"),
            premium=Decimal(0),
            lst_exchange_rate=rates,
            lst_market_price_sol=dict(rates),
            staking_apy=dict(self.staking),
            protocols=self.protocols,
        )

    def funding_history(self, start: datetime, end: datetime) -> list[FundingPoint]:
        return []

    def price_range(self, start: datetime, end: datetime) -> tuple[Decimal, Decimal]:
        prices = [self.sol_at(start)] + [p for t, p in self.points if start < t <= end]
        return min(prices), max(prices)


@asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[str]:
    """Serve ``app`` on a free local port for the duration of the block."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        # uvicorn takes ~0.2 s to stop; let it finish in the background (each test gets a
        # fresh port) and collect it at the end of the session.
        server.should_exit = True
        STOPPING.add(task)


STOPPING: set[asyncio.Task[None]] = set()


async def reap_servers() -> None:
    """Wait for every emulator server stopped in the background."""
    while STOPPING:
        await STOPPING.pop()


@dataclass
class Venue:
    """A running emulator and everything a test needs to drive it."""

    url: str
    app: Starlette
    clock: SimClock
    market: Any
    faults: FaultInjector
    admin: httpx.AsyncClient
    clients: list[Any] = field(default_factory=list)

    @property
    def emulator(self) -> AsgardEmulator:
        emu: AsgardEmulator = self.app.state.emulator
        return emu

    @property
    def asgard_url(self) -> str:
        return f"{self.url}/margin-trading"

    @property
    def rpc_url(self) -> str:
        return f"{self.url}/solana"

    async def fund(self, wallet: Keypair | str, **amounts: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "wallet": str(wallet.pubkey() if isinstance(wallet, Keypair) else wallet)
        }
        body.update({k: str(v) for k, v in amounts.items() if k != "tokens"})
        if "tokens" in amounts:
            body["tokens"] = {k: str(v) for k, v in amounts["tokens"].items()}
        resp = await self.admin.post("/admin/fund", json=body)
        resp.raise_for_status()
        out: dict[str, Any] = resp.json()
        return out

    async def wallet(self, wallet: Keypair | str) -> dict[str, Any]:
        pk = str(wallet.pubkey() if isinstance(wallet, Keypair) else wallet)
        resp = await self.admin.get(f"/admin/wallets/{pk}")
        resp.raise_for_status()
        out: dict[str, Any] = resp.json()
        return out

    async def opened_positions(self, wallet: Keypair) -> list[dict[str, Any]]:
        """The emulator's own record of positions this wallet ever opened."""
        return [p for p in (await self.wallet(wallet))["positions"] if p["opened"]]

    def fault(self, kind: str, match: str, **kw: Any) -> None:
        self.faults.add(FaultRule.model_validate({"kind": kind, "match": match, **kw}))

    async def sim_sleep(self, seconds: float) -> None:
        """The manager's sleep in tests: simulated time passes, real time does not."""
        self.clock.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)

    def manager(
        self,
        wallet: Keypair,
        store: SubmissionStore,
        *,
        policy: SubmitPolicy | None = None,
        health_unit: HealthUnit = HealthUnit.AUTO,
        timeout: float = 5.0,
    ) -> AsgardPositionManager:
        client = AsgardClient(self.asgard_url, "test-key", timeout=timeout, health_unit=health_unit)
        rpc = SolanaRpc(self.rpc_url, timeout=timeout)
        self.clients += [client, rpc]
        signer = TransactionSigner(
            KeypairSigner(wallet), TransactionPolicy.with_programs(DEFAULT_PROGRAM_ID)
        )
        return AsgardPositionManager(
            client,
            rpc,
            signer,
            store,
            policy=policy or SubmitPolicy(poll_interval_s=1.0, max_wait_s=900),
            clock=self.clock.now,
            sleep=self.sim_sleep,
        )


@asynccontextmanager
async def running_venue(
    *,
    market: Any | None = None,
    config: EmulatorConfig | None = None,
    state_file: Path | None = None,
    clock: SimClock | None = None,
) -> AsyncIterator[Venue]:
    clock = clock or SimClock(start=T0)
    market = market or StaticMarket()
    faults = FaultInjector(seed=1)
    cfg = config or EmulatorConfig(api_key="test-key")
    app = create_app(market, clock, faults=faults, state_file=state_file, config=cfg)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as admin:
        venue = Venue(url, app, clock, market, faults, admin)
        try:
            yield venue
        finally:
            for c in venue.clients:
                await c.close()


def protocol_market(
    protocol: Protocol,
    *,
    lend: str = "0.05",
    borrow: str = "0.10",
    ltv: str = "0.90",
    capacity: str = "10000000",
    active: bool = True,
    max_leverage: str = "4",
) -> ProtocolMarket:
    return ProtocolMarket(
        protocol=protocol,
        active=active,
        lend_apy={a.value: Decimal(lend) for a in Asset},
        borrow_apy={"USDC": Decimal(borrow)},
        max_leverage=Decimal(max_leverage),
        liquidation_ltv=Decimal(ltv),
        borrow_capacity_usd=Decimal(capacity),
    )
