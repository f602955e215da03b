"""Asgard's read endpoints: markets (from the market source), refresh-positions (health and
balances) and the position lists."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from models.domain import Asset
from venues.asgard.tokens import TOKENS, USDC
from venues.emulators.asgard import program
from venues.emulators.asgard.core import AsgardEmulator
from venues.emulators.asgard.txbuild import bank_address
from venues.emulators.asgard.wire import (
    Refusal,
    f,
    field,
    health_json,
    json_response,
    position_json,
    pubkey,
    route,
)


def read_routes(emu: AsgardEmulator) -> list[Route]:
    return [
        route(emu, "markets", _markets, method="GET"),
        route(emu, "refresh-positions", _refresh),
        route(emu, "positions", _positions(lambda s: True)),
        route(emu, "positions/open", _positions(lambda s: s == 0)),
        route(emu, "positions/closed", _positions(lambda s: s != 0)),
        route(emu, "positions/by-pda", _by_pda, method="GET"),
    ]


async def _markets(emu: AsgardEmulator, body: dict[str, Any], point: str) -> Response:
    async with emu.session() as chain:
        ms = chain.market.state_at(chain.time_of(chain.slot))
        strategies = []
        for asset, token in TOKENS.items():
            sources = []
            for pm in ms.protocols:
                sources.append(
                    {
                        "lendingProtocol": int(pm.protocol),
                        "isActive": pm.active,
                        "tokenABank": bank_address(int(pm.protocol), token.mint),
                        "tokenBBank": bank_address(int(pm.protocol), USDC.mint),
                        "longMaxLeverage": f(pm.max_leverage),
                        "liquidationLtv": f(pm.liquidation_ltv),
                        "capacity": {
                            "tokenBBorrowUsd": f(
                                program.available_capacity(chain.state, ms, int(pm.protocol))
                            )
                        },
                        "tokenALendingApy": f(pm.lend_apy.get(asset.value)),
                        "tokenABorrowingApy": None,
                        "tokenBLendingApy": f(pm.lend_apy.get(USDC.symbol)),
                        "tokenBBorrowingApy": f(pm.borrow_apy.get(USDC.symbol)),
                    }
                )
            strategies.append(
                {
                    "name": f"{token.symbol}/USDC",
                    "tokenA": {
                        "symbol": token.symbol,
                        "mint": token.mint,
                        "decimals": token.decimals,
                        "priceUsd": f(ms.asset_price_usd(Asset(asset))),
                        # Stake-pool figures of the collateral token. Unconfirmed fields of the
                        # real API (see docs/venues/asgard.md); the client treats them as
                        # optional.
                        "stakingApy": f(ms.staking_apy.get(Asset(asset))),
                        "exchangeRateSol": f(ms.lst_exchange_rate.get(Asset(asset))),
                    },
                    "tokenB": {
                        "symbol": USDC.symbol,
                        "mint": USDC.mint,
                        "decimals": USDC.decimals,
                        "priceUsd": 1.0,
                    },
                    "liquiditySources": sources,
                }
            )
        return json_response({"strategies": strategies})


async def _refresh(emu: AsgardEmulator, body: dict[str, Any], point: str) -> Response:
    refs = field(body, "positionPDAs")
    if not isinstance(refs, list):
        raise Refusal("ValidationError", "positionPDAs must be a list")
    async with emu.session() as chain:
        ms = chain.market.state_at(chain.time_of(chain.slot))
        out = []
        for ref in refs:
            pda = str(field(ref, "positionPDA"))
            pos = chain.state.positions.get(pda)
            if pos is None or not pos.opened or pos.protocol != int(field(ref, "protocol")):
                raise Refusal("PositionNotFound", f"no position {pda}")
            out.append(health_json(pos, ms, emu.cfg.health_unit))
        return json_response({"positions": out})


def _positions(keep: Any) -> Any:
    async def handler(emu: AsgardEmulator, body: dict[str, Any], point: str) -> Response:
        wallet = str(pubkey(body, "walletPubkey"))
        async with emu.session() as chain:
            found = [
                position_json(p)
                for p in chain.state.positions.values()
                if p.wallet == wallet and p.opened and keep(p.state)
            ]
            return json_response({"positions": found})

    return handler


async def _by_pda(emu: AsgardEmulator, body: dict[str, Any], point: str) -> Response:
    pda = str(field(body, "pda"))
    async with emu.session() as chain:
        pos = chain.state.positions.get(pda)
        if pos is None or not pos.opened:
            raise Refusal("PositionNotFound", f"no position {pda}", status=404)
        return json_response(position_json(pos))
