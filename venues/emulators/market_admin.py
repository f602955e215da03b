"""Admin endpoints that steer the shared market (``/admin/market/...``), mounted on both
emulators: an operator or a test can flip funding, move the price, depeg an LST or take a
venue down, and both venues see it at the same instant. Never part of a venue's protocol."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from models.domain import Asset, Protocol, Venue
from venues.market.clock import SimClock
from venues.market.control import ControllableMarket
from venues.market.scenarios import SCENARIOS


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScenarioBody(_Body):
    name: str
    seed: int | None = None


class FundingBody(_Body):
    rate: Decimal | None
    """Hourly rate (positive: shorts earn); null returns to the scenario's."""


class PriceBody(_Body):
    price: Decimal | None
    hold: bool = False


class PegBody(_Body):
    asset: Asset
    deviation: Decimal | None


class BorrowBody(_Body):
    protocol: Protocol
    apy: Decimal | None


class OutageBody(_Body):
    venue: Venue
    down: bool | None


def _error(message: str, status: int = 422) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def market_routes(market: ControllableMarket, clock: SimClock) -> list[Route]:
    def view() -> dict[str, Any]:
        now = clock.now()
        s = market.state_at(now)
        return {
            "at": now.isoformat(),
            "scenario": market.scenario,
            "sol_price": str(s.sol_price),
            "perp_mark": str(s.perp_mark),
            "funding_rate": str(s.funding_rate),
            "lst_market_price_sol": {a.value: str(v) for a, v in s.lst_market_price_sol.items()},
            "outages": sorted(v.value for v in s.outages),
            "changes": market.changes(),
        }

    async def get_market(_: Request) -> Response:
        return JSONResponse(view())

    def change(model: type[_Body], apply: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                body = model.model_validate(await request.json())
            except (ValidationError, ValueError) as exc:
                return _error(str(exc))
            try:
                apply(body)
            except (KeyError, ValueError) as exc:
                return _error(str(exc))
            return JSONResponse(view())

        return endpoint

    def scenario(b: ScenarioBody) -> None:
        if b.name not in SCENARIOS:
            raise ValueError(f"unknown scenario {b.name!r}; known: {', '.join(sorted(SCENARIOS))}")
        market.set_scenario(b.name, seed=b.seed)

    async def reset(_: Request) -> Response:
        market.reset()
        return JSONResponse(view())

    return [
        Route("/admin/market", get_market, methods=["GET"]),
        Route("/admin/market/scenario", change(ScenarioBody, scenario), methods=["POST"]),
        Route(
            "/admin/market/funding",
            change(FundingBody, lambda b: market.set_funding_rate(b.rate)),
            methods=["POST"],
        ),
        Route(
            "/admin/market/price",
            change(PriceBody, lambda b: market.set_sol_price(b.price, hold=b.hold)),
            methods=["POST"],
        ),
        Route(
            "/admin/market/lst-peg",
            change(PegBody, lambda b: market.set_lst_peg(b.asset, b.deviation)),
            methods=["POST"],
        ),
        Route(
            "/admin/market/borrow",
            change(BorrowBody, lambda b: market.set_borrow_apy(b.protocol, b.apy)),
            methods=["POST"],
        ),
        Route(
            "/admin/market/outage",
            change(OutageBody, lambda b: market.set_outage(b.venue, b.down)),
            methods=["POST"],
        ),
        Route("/admin/market/reset", reset, methods=["POST"]),
    ]
