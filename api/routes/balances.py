"""Your wallets' balances on each venue, and whether they can fund a position. Reads only."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from api.auth import CurrentUser, now_of
from api.deps import SettingsDep
from api.schemas import Money
from api.services import balances
from api.venues import HyperliquidFunds, SolanaFunds

router = APIRouter(prefix="/balances", tags=["balances"])


class SolanaBalance(BaseModel):
    chain: str = "solana"
    venue: str = "asgard"
    address: str
    sol: Money | None
    usdc: Money | None
    error: str | None = None


class HyperliquidBalance(BaseModel):
    chain: str = "evm"
    venue: str = "hyperliquid"
    address: str
    account_value_usd: Money | None
    withdrawable_usd: Money | None
    error: str | None = None


class BalancesPublic(BaseModel):
    as_of: datetime
    solana: SolanaBalance
    hyperliquid: HyperliquidBalance
    max_capital_usd: Money | None
    """The largest ``capital_usd`` your venues can fund now (null while one is unreadable)."""


class FundingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    capital_usd: Annotated[Decimal, Field(gt=0, le=100_000_000, decimal_places=2)]


class ShortfallPublic(BaseModel):
    venue: str
    asset: str
    needed: Money
    available: Money


class FundingCheckPublic(BaseModel):
    ok: bool
    capital_usd: Money
    required_per_venue_usd: Money
    solana_usdc: Money
    solana_sol: Money
    hyperliquid_withdrawable_usd: Money
    max_capital_usd: Money
    shortfalls: list[ShortfallPublic]


@router.get("", response_model=BalancesPublic)
async def get_balances(
    user: CurrentUser, request: Request, settings: SettingsDep
) -> BalancesPublic:
    """USDC and SOL in your Solana wallet (the Asgard long's margin and fees), account value
    and withdrawable USDC on Hyperliquid (the short's margin). A venue that does not answer
    is reported in its ``error`` field; the other is still shown."""
    wallets = await balances.wallets_of(request.app.state.wallets, user.id)
    sol, hl = await balances.read(request.app.state.venues, wallets)
    s = SolanaBalance(address=wallets.solana_address, sol=None, usdc=None)
    h = HyperliquidBalance(
        address=wallets.evm_address, account_value_usd=None, withdrawable_usd=None
    )
    if isinstance(sol, SolanaFunds):
        s.sol, s.usdc = sol.sol, sol.usdc
    else:
        s.error = f"{sol.code}: {sol}"
    if isinstance(hl, HyperliquidFunds):
        h.account_value_usd, h.withdrawable_usd = hl.account_value, hl.withdrawable
    else:
        h.error = f"{hl.code}: {hl}"
    top = None
    if isinstance(sol, SolanaFunds) and isinstance(hl, HyperliquidFunds):
        top = balances.max_capital(settings, sol.usdc, hl.withdrawable)
    return BalancesPublic(as_of=now_of(request), solana=s, hyperliquid=h, max_capital_usd=top)


@router.post("/check", response_model=FundingCheckPublic)
async def check_funding(
    body: FundingRequest, user: CurrentUser, request: Request, settings: SettingsDep
) -> FundingCheckPublic:
    """Can your venues fund a position of ``capital_usd``? The same check a new intent
    passes (it is refused with WAL-0001 when ``ok`` would be false)."""
    result = await balances.check_user(
        request.app.state.venues, request.app.state.wallets, settings, user.id, body.capital_usd
    )
    return FundingCheckPublic(
        ok=result.ok,
        capital_usd=result.capital_usd,
        required_per_venue_usd=result.required_per_venue_usd,
        solana_usdc=result.solana_usdc,
        solana_sol=result.solana_sol,
        hyperliquid_withdrawable_usd=result.hyperliquid_withdrawable_usd,
        max_capital_usd=result.max_capital_usd,
        shortfalls=[
            ShortfallPublic(venue=s.venue, asset=s.asset, needed=s.needed, available=s.available)
            for s in result.shortfalls
        ],
    )
