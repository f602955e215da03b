"""Both emulators in one process, on one market and one clock: the paper stack's venues.

Hyperliquid on one port, Asgard + Solana RPC on another (as the real venues are separate
hosts), both reading the same ``ControllableMarket`` so a price move or a funding flip reaches
both at the same instant; ``/admin/market/...`` on either port steers it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from venues.emulators.asgard import EmulatorConfig as AsgardConfig
from venues.emulators.asgard import create_app as asgard_app
from venues.emulators.faults import FaultInjector
from venues.emulators.hyperliquid import EmulatorConfig as HyperliquidConfig
from venues.emulators.hyperliquid import create_app as hyperliquid_app
from venues.emulators.market_admin import market_routes
from venues.market.clock import SimClock
from venues.market.control import ControllableMarket

log = logging.getLogger(__name__)


@dataclass
class PaperVenues:
    clock: SimClock
    market: ControllableMarket
    hyperliquid: Starlette
    asgard: Starlette


def build(
    *,
    scenario: str,
    seed: int,
    speed: float,
    state_dir: Path | None,
    asgard_api_key: str | None = None,
) -> PaperVenues:
    clock = SimClock(speed=speed)
    market = ControllableMarket(clock=clock, scenario=scenario, seed=seed)
    hl = hyperliquid_app(
        market,
        clock,
        faults=FaultInjector(seed=seed),
        state_file=state_dir / "hyperliquid.json" if state_dir else None,
        config=HyperliquidConfig(),
    )
    asg = asgard_app(
        market,
        clock,
        faults=FaultInjector(seed=seed + 1),
        state_file=state_dir / "asgard.json" if state_dir else None,
        config=AsgardConfig(seed=seed, api_key=asgard_api_key),
    )
    for app in (hl, asg):
        app.router.routes.extend(market_routes(market, clock))
    return PaperVenues(clock, market, hl, asg)


class _QuietServer(uvicorn.Server):
    """Two servers share one loop: signals are handled once, by ``serve``, not by each."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(venues: PaperVenues, *, host: str, hyperliquid_port: int, asgard_port: int) -> None:
    servers = [
        _QuietServer(
            uvicorn.Config(
                app, host=host, port=port, log_config=None, lifespan="off", server_header=False
            )
        )
        for app, port in ((venues.hyperliquid, hyperliquid_port), (venues.asgard, asgard_port))
    ]
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for s in servers:
            s.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    log.info("emulators up: hyperliquid :%d, asgard :%d", hyperliquid_port, asgard_port)
    await asyncio.gather(*(s.serve() for s in servers))
