"""The emulator object behind every route: chain, market, clock, faults, one lock, and
persistence. Every request runs inside ``session()``: take the lock, catch the chain up to
``clock.now()``, act, and save the state if anything changed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from venues.emulators.asgard.chain import Chain
from venues.emulators.asgard.config import EmulatorConfig
from venues.emulators.asgard.state import EmulatorState, Persistence
from venues.emulators.faults import FaultInjector, FaultRule
from venues.market import MarketSource, SimClock

PRE_FAULTS = {"latency", "http_error", "timeout", "logical_error"}
TX_FAULTS = {"drop_tx", "tx_error", "slow_confirm", "submit_timeout_after_landing", "lost_response"}


class AsgardEmulator:
    def __init__(
        self,
        market: MarketSource,
        clock: SimClock,
        cfg: EmulatorConfig,
        *,
        faults: FaultInjector | None = None,
        state_file: Path | None = None,
    ) -> None:
        self.market = market
        self.clock = clock
        self.cfg = cfg
        self.faults = faults if faults is not None else FaultInjector(seed=cfg.seed)
        self.persistence = Persistence(state_file)
        state = self.persistence.load()
        if state is None:
            now = clock.now()
            state = EmulatorState(seed=cfg.seed, genesis=now, last=now)
        self.chain = Chain(state, market, cfg)
        self.lock = asyncio.Lock()

    @asynccontextmanager
    async def session(self, *, mutating: bool = False) -> AsyncIterator[Chain]:
        async with self.lock:
            changed = self.chain.catch_up(self.clock.now())
            try:
                yield self.chain
            finally:
                if mutating or changed:
                    self.persistence.save(self.chain.state)

    @property
    def state(self) -> EmulatorState:
        return self.chain.state

    async def pre_fault(self, point: str) -> Response | None:
        """Apply a latency/error/timeout fault configured for ``point``; a response to send
        instead of serving, or None to serve normally."""
        rule = self.faults.pick(point, PRE_FAULTS)
        if rule is None:
            return None
        if rule.kind == "latency":
            await asyncio.sleep(rule.delay_s)
            return None
        if rule.kind == "timeout":
            await asyncio.sleep(rule.delay_s)
            return fault_error(point, 504, "GatewayTimeout", "injected timeout")
        if rule.kind == "logical_error":
            name = str(rule.params.get("name", "InjectedLogicalError"))
            message = str(rule.params.get("message", "injected logical error"))
            return fault_error(point, rule.status or 422, name, message)
        status = rule.status or 503
        return fault_error(point, status, "InjectedHttpError", f"injected HTTP {status}")

    def tx_fault(self, point: str) -> FaultRule | None:
        return self.faults.pick(point, TX_FAULTS)


def asgard_error(
    status: int, name: str, message: str, details: Any = None, code: int | None = None
) -> JSONResponse:
    """Asgard's error shape."""
    body = {"error": {"name": name, "code": code or status, "message": message, "details": details}}
    return JSONResponse(body, status_code=status)


def fault_error(point: str, status: int, name: str, message: str) -> Response:
    if point.startswith("rpc:"):
        # An RPC gateway's failure is plain HTTP; the JSON-RPC layer never sees it.
        return Response(message, status_code=status, media_type="text/plain")
    return asgard_error(status, name, message)


class DroppedResponse(Response):
    """Start a response and never finish it: the client sees the connection die after the
    server acted (the "lost response" / "timed out after landing" faults)."""

    def __init__(self, delay_s: float = 0.0) -> None:
        super().__init__(status_code=200)
        self.delay_s = delay_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(self.delay_s)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
            }
        )
        # Returning mid-body makes the server close the connection (it logs one line).
        await send({"type": "http.response.body", "body": b'{"', "more_body": True})
