"""Admin endpoints (``/admin/...``): never part of Asgard's or Solana's protocol.

- ``GET /admin/health``: liveness, the emulator's time, slot and block height.
- ``POST /admin/fund``: paper deposit ``{"wallet", "sol"?, "usdc"?, "tokens"?: {symbol: amount}}``.
- ``GET|POST|DELETE /admin/faults``: list, install (``{"rules": [FaultRule...]}`` or one rule),
  clear.
- ``POST /admin/clock/advance``: ``{"seconds": n}``; the chain catches up on the next request.
- ``GET /admin/wallets/{pubkey}``: balances and every position record of a wallet.
- ``GET /admin/positions``: every position record (tests assert "no double open" on it).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError
from solders.pubkey import Pubkey
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from venues.asgard.tokens import BY_MINT, TOKENS, USDC, WSOL
from venues.emulators.asgard import program
from venues.emulators.asgard.core import AsgardEmulator
from venues.emulators.asgard.state import EmulatorState
from venues.emulators.faults import FaultRule


def admin_routes(emu: AsgardEmulator) -> list[Route]:
    async def health(request: Request) -> Response:
        async with emu.session() as chain:
            return JSONResponse(
                {
                    "ok": True,
                    "now": chain.state.last.isoformat(),
                    "slot": chain.slot,
                    "blockHeight": chain.height("processed"),
                }
            )

    async def fund(request: Request) -> Response:
        body = await _body(request)
        try:
            wallet = str(Pubkey.from_string(str(body["wallet"])))
            amounts: dict[str, Decimal] = {}
            if "sol" in body:
                amounts[WSOL.mint] = Decimal(str(body["sol"]))
            if "usdc" in body:
                amounts[USDC.mint] = Decimal(str(body["usdc"]))
            for name, amount in (body.get("tokens") or {}).items():
                token = next((t for t in TOKENS.values() if name in (t.symbol, t.mint)), None)
                if token is None:
                    return _bad(f"unknown token {name}")
                amounts[token.mint] = Decimal(str(amount))
        except (KeyError, ValueError, InvalidOperation) as exc:
            return _bad(f"invalid fund request: {exc}")
        if any(a < 0 for a in amounts.values()):
            return _bad("amounts must not be negative")
        async with emu.session(mutating=True) as chain:
            rec = chain.state.wallet(wallet)
            for mint, amount in amounts.items():
                program.credit(rec, BY_MINT[mint], amount)
            return JSONResponse(_wallet_view(chain.state, wallet))

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            emu.faults.clear()
        elif request.method == "POST":
            body = await _body(request)
            raw = body.get("rules", [body]) if isinstance(body, dict) else body
            try:
                emu.faults.add(*(FaultRule.model_validate(r) for r in raw))
            except ValidationError as exc:
                return _bad(str(exc))
        return JSONResponse({"faults": emu.faults.snapshot()})

    async def advance(request: Request) -> Response:
        body = await _body(request)
        try:
            seconds = float(body["seconds"])
            now = emu.clock.advance(timedelta(seconds=seconds))
        except (KeyError, TypeError, ValueError) as exc:
            return _bad(f"invalid advance: {exc}")
        return JSONResponse({"now": now.isoformat()})

    async def wallet(request: Request) -> Response:
        pubkey = request.path_params["pubkey"]
        async with emu.session() as chain:
            return JSONResponse(_wallet_view(chain.state, pubkey))

    async def positions(request: Request) -> Response:
        async with emu.session() as chain:
            return JSONResponse(
                {"positions": [p.model_dump(mode="json") for p in chain.state.positions.values()]}
            )

    return [
        Route("/admin/health", health, methods=["GET"]),
        Route("/admin/fund", fund, methods=["POST"]),
        Route("/admin/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/admin/clock/advance", advance, methods=["POST"]),
        Route("/admin/wallets/{pubkey}", wallet, methods=["GET"]),
        Route("/admin/positions", positions, methods=["GET"]),
    ]


def _wallet_view(state: EmulatorState, pubkey: str) -> dict[str, Any]:
    rec = state.wallets.get(pubkey)
    lamports = rec.lamports if rec else 0
    tokens = {
        BY_MINT[m].symbol if m in BY_MINT else m: str(
            BY_MINT[m].from_native(n) if m in BY_MINT else n
        )
        for m, n in (rec.tokens.items() if rec else [])
    }
    return {
        "wallet": pubkey,
        "lamports": lamports,
        "sol": str(WSOL.from_native(lamports)),
        "tokens": tokens,
        "positions": [
            p.model_dump(mode="json") for p in state.positions.values() if p.wallet == pubkey
        ],
    }


async def _body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return {}


def _bad(message: str) -> Response:
    return JSONResponse({"error": message}, status_code=400)
