"""The ASGI app: the venue's ``/info`` and ``/exchange``, fault injection around them, and the
``/admin`` endpoints tests and the paper stack use (never part of the venue's protocol).

Fault points are ``info:<type>`` and ``exchange:<action type>``; kinds:
- ``latency``: wait ``delay_s``, then serve;
- ``http_error``: answer ``status`` (429, 5xx) without acting;
- ``timeout``: hold the request ``delay_s`` without acting, then answer 504;
- ``lost_response``: act, then drop the connection mid-response;
- ``slow_response``: act, then answer ``delay_s`` later.
- ``partial_fill`` (orders): fill only ``params.fraction`` of each order.
- ``logical_error`` (orders): refuse every order with ``params.message`` (default: the
  venue's insufficient-margin message), acting on nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from venues.emulators.faults import FaultInjector, FaultRule
from venues.emulators.hyperliquid import exchange, views
from venues.emulators.hyperliquid import margin as m
from venues.emulators.hyperliquid.config import EmulatorConfig
from venues.emulators.hyperliquid.engine import HyperliquidEmulator, wall_clock_ms
from venues.emulators.hyperliquid.numbers import wire
from venues.emulators.hyperliquid.trading import Malformed
from venues.market import MarketSource, SimClock

_UNDESERIALISABLE = "Failed to deserialize the JSON body into the target type"
_SERVING_FAULTS = {"latency", "http_error", "timeout", "lost_response", "slow_response"}
_RULES = TypeAdapter(list[FaultRule])
log = logging.getLogger(__name__)


class _DroppedResponse(Response):
    """Starts a response and stops mid-body: the server closes the connection, so the client
    sees a broken read after the venue has acted."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"status":"ok",', "more_body": True})


def create_app(
    market: MarketSource,
    clock: SimClock,
    *,
    faults: FaultInjector | None = None,
    state_file: Path | None = None,
    config: EmulatorConfig | None = None,
    wall_ms: Callable[[], int] = wall_clock_ms,
) -> Starlette:
    """The Hyperliquid emulator as an ASGI app. ``app.state.emulator`` is the
    ``HyperliquidEmulator`` behind it (for in-process tests and a combined stack)."""
    emu = HyperliquidEmulator(
        market, clock, config=config, faults=faults, state_file=state_file, wall_ms=wall_ms
    )

    async def serve(point: str, act: Callable[[], Any]) -> Response:
        if emu.in_outage():
            # The market scenario has taken the venue down: nothing is served or acted on.
            return PlainTextResponse("venue outage", status_code=503)
        rule = emu.faults.pick(point, kinds=_SERVING_FAULTS)
        if rule is not None:
            log.info("injecting %s at %s", rule.kind, point)
        if rule is not None and rule.kind == "latency":
            await asyncio.sleep(rule.delay_s)
        elif rule is not None and rule.kind == "http_error":
            status = rule.status or 503
            return PlainTextResponse(f"injected HTTP {status}", status_code=status)
        elif rule is not None and rule.kind == "timeout":
            await asyncio.sleep(rule.delay_s)
            return PlainTextResponse("injected timeout", status_code=504)
        try:
            body = await run_in_threadpool(act)
        except Malformed:
            return PlainTextResponse(_UNDESERIALISABLE, status_code=422)
        if rule is not None and rule.kind == "lost_response":
            return _DroppedResponse()
        if rule is not None and rule.kind == "slow_response":
            await asyncio.sleep(rule.delay_s)
        return JSONResponse(body)

    async def info(request: Request) -> Response:
        body = await _json(request)
        if body is None:
            return PlainTextResponse(_UNDESERIALISABLE, status_code=422)
        kind = body.get("type") if isinstance(body, dict) else None
        return await serve(f"info:{kind}", lambda: views.handle(emu, body))

    async def exchange_endpoint(request: Request) -> Response:
        body = await _json(request)
        if body is None:
            return PlainTextResponse(_UNDESERIALISABLE, status_code=422)
        kind = exchange.action_type(body)
        point = f"exchange:{kind}"
        fraction: Decimal | None = None
        if kind == "order":
            refusal = emu.faults.pick(point, kinds={"logical_error"})
            if refusal is not None:
                # The venue's per-order refusal (HTTP 200, an error status per order).
                message = str(refusal.params.get("message", "Insufficient margin to place order."))
                log.info("injecting logical_error (%s) at %s", message, point)
                orders = body.get("action", {}).get("orders", []) if isinstance(body, dict) else []
                return JSONResponse(
                    {
                        "status": "ok",
                        "response": {
                            "type": "order",
                            "data": {"statuses": [{"error": message} for _ in orders or [0]]},
                        },
                    }
                )
            partial = emu.faults.pick(point, kinds={"partial_fill"})
            if partial is not None:
                fraction = Decimal(str(partial.params.get("fraction", "0.5")))
                log.info("injecting partial_fill (%s) at %s", fraction, point)

        def act() -> Any:
            return exchange.handle(emu, body, fill_fraction=fraction)[0]

        return await serve(point, act)

    # ---- admin ------------------------------------------------------------------------------

    async def health(_: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "venue": "hyperliquid",
                "chain": emu.cfg.chain,
                "time": emu.clock.now().isoformat(),
                "accounts": len(emu.state.accounts),
                "liquidations": emu.state.liquidations,
            }
        )

    async def fund(request: Request) -> Response:
        body = await _json(request)
        try:
            address = str(body["address"])
            usdc = Decimal(str(body["usdc"]))
            spot = bool(body.get("spot", False))
            if not address.startswith("0x") or len(address) != 42:
                raise ValueError("address")
            await run_in_threadpool(emu.fund, address, usdc, spot=spot)
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            return JSONResponse({"error": f"bad deposit: {exc}"}, status_code=400)
        return await account(request, address)

    async def faults_endpoint(request: Request) -> Response:
        if request.method == "DELETE":
            emu.faults.clear()
        elif request.method == "POST":
            body = await _json(request)
            # Either {"rules": [rule, ...], "seed"?} or one rule on its own.
            raw = body.get("rules", [body]) if isinstance(body, dict) else body
            try:
                rules = _RULES.validate_python(raw)
            except ValidationError as exc:
                return JSONResponse({"error": exc.errors()}, status_code=400)
            if isinstance(body, dict) and isinstance(body.get("seed"), int):
                emu.faults.reseed(body["seed"])
            emu.faults.add(*rules)
        return JSONResponse({"rules": emu.faults.snapshot()})

    async def advance(request: Request) -> Response:
        body = await _json(request)
        try:
            seconds = float(body["seconds"])
            if seconds < 0:
                raise ValueError("the clock only moves forward")
        except (KeyError, TypeError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        await run_in_threadpool(emu.advance, timedelta(seconds=seconds))
        return JSONResponse({"time": emu.clock.now().isoformat()})

    async def account_view(request: Request) -> Response:
        return await account(request, request.path_params["address"])

    async def account(_: Request, address: str) -> Response:
        return JSONResponse(await run_in_threadpool(_account_view, emu, address))

    app = Starlette(
        routes=[
            Route("/info", info, methods=["POST"]),
            Route("/exchange", exchange_endpoint, methods=["POST"]),
            Route("/admin/health", health, methods=["GET"]),
            Route("/admin/fund", fund, methods=["POST"]),
            Route("/admin/faults", faults_endpoint, methods=["GET", "POST", "DELETE"]),
            Route("/admin/clock/advance", advance, methods=["POST"]),
            Route("/admin/accounts/{address}", account_view, methods=["GET"]),
        ]
    )
    app.state.emulator = emu
    return app


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _account_view(emu: HyperliquidEmulator, address: str) -> dict[str, Any]:
    """Everything the venue holds for an address, for tests and reconciliation."""
    with emu.lock:
        if emu.catch_up():
            emu.persist()
        key = address.lower()
        acct = emu.account(key)
        agent = emu.state.agents.get(key)
        if acct is None:
            return {"address": key, "exists": False, "agent_of": agent.master if agent else None}
        px = emu.prices()
        u, d = emu.cfg.universe, emu.cfg.default_leverage
        positions = {}
        for a, pos in m.open_positions(acct):
            lev = emu.leverage(acct, a)
            liq = m.liquidation_price(acct, a, px, u, d)
            positions[u[a].name] = {
                "szi": wire(pos.szi),
                "entry_px": wire(pos.entry_px, 8),
                "mark_px": wire(px.mark[a]),
                "leverage": {"cross": lev.cross, "value": lev.value},
                "isolated_margin": wire(pos.isolated_margin, 6),
                "liquidation_px": wire(liq, 8) if liq is not None else None,
                "cum_funding_paid": wire(pos.cum_funding_all, 6),
            }
        return {
            "address": key,
            "exists": True,
            "perp_usdc": wire(acct.perp_usdc, 6),
            "spot_usdc": wire(acct.spot_usdc, 6),
            "account_value": wire(m.account_value(acct, px, d), 6),
            "positions": positions,
            "open_orders": sum(1 for o in acct.orders.values() if o.status == "open"),
            "orders": len(acct.orders),
            "fills": len(acct.fills),
            "fees_paid": wire(sum((f.fee for f in acct.fills), Decimal(0)), 6),
            "funding_received": wire(sum((f.usdc for f in acct.funding), Decimal(0)), 6),
            "agents": sorted(k for k, v in emu.state.agents.items() if v.master == key),
            "schedule_cancel_ms": acct.schedule_cancel_ms,
        }
