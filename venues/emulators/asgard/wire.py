"""Request parsing and response shapes shared by the emulator's Asgard routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from solders.pubkey import Pubkey
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from models.domain import Asset
from venues.asgard.tokens import BY_MINT, TOKENS, USDC
from venues.emulators.asgard import program
from venues.emulators.asgard.core import AsgardEmulator, asgard_error
from venues.emulators.asgard.state import PositionRec
from venues.emulators.asgard.txbuild import bank_address
from venues.market.source import MarketState


class Refusal(Exception):
    """Answer with Asgard's error shape (422 unless said otherwise)."""

    def __init__(self, name: str, message: str, details: Any = None, status: int = 422) -> None:
        super().__init__(message)
        self.name, self.message, self.details, self.status = name, message, details, status


Handler = Callable[[AsgardEmulator, dict[str, Any], str], Awaitable[Response]]


def route(emu: AsgardEmulator, name: str, fn: Handler, method: str = "POST") -> Route:
    """An Asgard endpoint: API key, injected faults at ``asgard:<name>``, body parsing, and
    refusals in Asgard's error shape."""
    point = f"asgard:{name}"

    async def handler(request: Request) -> Response:
        if emu.cfg.api_key and request.headers.get("x-api-key") != emu.cfg.api_key:
            return asgard_error(401, "Unauthorized", "missing or invalid X-API-Key")
        injected = await emu.pre_fault(point)
        if injected is not None:
            return injected
        try:
            body: Any = dict(request.query_params) if method == "GET" else await request.json()
        except ValueError as exc:  # a JSON decode error
            return asgard_error(400, "BadRequest", f"malformed request: {exc}")
        if not isinstance(body, dict):
            return asgard_error(400, "BadRequest", "the body must be a JSON object")
        try:
            return await fn(emu, body, point)
        except Refusal as exc:
            return asgard_error(exc.status, exc.name, exc.message, exc.details)
        except program.ProgramError as exc:
            return asgard_error(422, exc.name, exc.message)

    return Route(f"/{name}", handler, methods=[method])


def field(body: dict[str, Any], key: str) -> Any:
    if key not in body or body[key] is None:
        raise Refusal("ValidationError", f"'{key}' is required")
    return body[key]


def pubkey(body: dict[str, Any], key: str) -> Pubkey:
    try:
        return Pubkey.from_string(str(field(body, key)))
    except ValueError:
        raise Refusal("ValidationError", f"'{key}' is not a public key") from None


def number(body: dict[str, Any], key: str) -> Decimal:
    raw = field(body, key)
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise Refusal("ValidationError", f"'{key}' is not a number") from None
    if not value.is_finite():
        raise Refusal("ValidationError", f"'{key}' is not finite")
    return value


def asset_of_bank(protocol: int, bank: str) -> Asset:
    for asset, token in TOKENS.items():
        if bank_address(protocol, token.mint) == bank:
            return asset
    raise Refusal("InvalidBank", f"tokenABank {bank} is not a bank of protocol {protocol}")


def f(x: Decimal | None) -> float | None:
    """Floats only at the wire."""
    return None if x is None else float(x)


def iso(t: Any) -> str | None:
    return None if t is None else t.isoformat().replace("+00:00", "Z")


def position_json(pos: PositionRec) -> dict[str, Any]:
    return {
        "id": pos.id,
        "positionPda": pos.pda,
        "walletPubkey": pos.wallet,
        "protocol": pos.protocol,
        "direction": 0,
        "state": pos.state,
        "collateralType": pos.collateral_type,
        "tokenAMint": TOKENS[Asset(pos.asset)].mint,
        "tokenBMint": USDC.mint,
        "leverage": f(pos.leverage),
        "tokenAEntryPriceUSD": f(pos.entry_price_usd),
        "openTxHash": pos.open_tx,
        "openedAt": iso(pos.opened_at),
        "closeTxHash": pos.close_tx,
        "closedAt": iso(pos.closed_at),
        "liquidatedAt": iso(pos.liquidated_at),
    }


def health_json(pos: PositionRec, ms: MarketState, unit: str) -> dict[str, Any]:
    token = TOKENS[Asset(pos.asset)]
    hf = program.health(pos, ms) if pos.state == 0 else Decimal(1)
    assets_usd = pos.collateral * program.value_price(ms, pos.asset)
    return {
        "positionPDA": pos.pda,
        "protocol": pos.protocol,
        "state": pos.state,
        "summary": {
            "healthFactor": f(hf * 100 if unit == "percent" else hf),
            "assetsUsd": f(assets_usd),
            "liabilitiesUsd": f(pos.debt),
            "netValueUsd": f(assets_usd - pos.debt),
        },
        "assetsQt": {token.mint: str(token.to_native(pos.collateral))},
        "liabsQt": {USDC.mint: str(USDC.to_native(pos.debt))},
    }


def json_response(body: Any) -> JSONResponse:
    return JSONResponse(body)


def mint_symbol(mint: str) -> str:
    token = BY_MINT.get(mint)
    return token.symbol if token else mint
