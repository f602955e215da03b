"""The factory: one ASGI app serving Asgard's API under ``/margin-trading``, the Solana
JSON-RPC at ``POST /solana`` and the admin API under ``/admin``."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount, Route

from venues.emulators.asgard.admin import admin_routes
from venues.emulators.asgard.api_read import read_routes
from venues.emulators.asgard.api_trade import trade_routes
from venues.emulators.asgard.config import EmulatorConfig
from venues.emulators.asgard.core import AsgardEmulator
from venues.emulators.asgard.history import history_routes
from venues.emulators.asgard.rpc import rpc_endpoint
from venues.emulators.faults import FaultInjector
from venues.market import MarketSource, SimClock

ASGARD_PREFIX = "/margin-trading"
RPC_PATH = "/solana"


def create_app(
    market: MarketSource,
    clock: SimClock,
    *,
    faults: FaultInjector | None = None,
    state_file: Path | None = None,
    config: EmulatorConfig | None = None,
) -> Starlette:
    """Build the emulator. ``market`` and ``clock`` may be shared with the Hyperliquid
    emulator so both venues see one market; ``faults`` may be shared or inspected by a test;
    with ``state_file`` the state is loaded at start and saved after each change."""
    emu = AsgardEmulator(
        market, clock, config or EmulatorConfig(), faults=faults, state_file=state_file
    )
    app = Starlette(
        routes=[
            Mount(
                ASGARD_PREFIX,
                routes=[*read_routes(emu), *history_routes(emu), *trade_routes(emu)],
            ),
            Route(RPC_PATH, rpc_endpoint(emu), methods=["POST"]),
            *admin_routes(emu),
        ]
    )
    app.state.emulator = emu
    return app
