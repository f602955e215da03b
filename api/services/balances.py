"""What a user's venues hold, and whether they can fund a position.

A position of capital C puts C/2 of margin on each venue: USDC in the Solana wallet for the
Asgard long, withdrawable USDC on Hyperliquid for the short. The engine deploys at most
``max_deployment_fraction`` of the smaller balance, so each venue must hold
``C/2 / max_deployment_fraction``; the Solana wallet also needs a little SOL for fees.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import TypeVar

from api.errors import ApiError
from api.schemas import canonical
from api.venues import HyperliquidFunds, SolanaFunds, VenueReader, VenueUnavailable
from basis.config import Settings
from wallets.keystore import UserWallets, WalletNotFoundError
from wallets.provider import WalletProvider

T = TypeVar("T")

MIN_SOL_FOR_FEES = Decimal("0.01")
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Shortfall:
    venue: str
    asset: str
    needed: Decimal
    available: Decimal


@dataclass(frozen=True, slots=True)
class FundingCheck:
    capital_usd: Decimal
    required_per_venue_usd: Decimal
    solana_usdc: Decimal
    solana_sol: Decimal
    hyperliquid_withdrawable_usd: Decimal
    max_capital_usd: Decimal
    shortfalls: tuple[Shortfall, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.shortfalls


async def wallets_of(provider: WalletProvider, user_id: uuid.UUID) -> UserWallets:
    try:
        return await provider.addresses(user_id)
    except WalletNotFoundError as exc:
        raise ApiError("WAL-0002", "your wallets are not set up yet; sign in again") from exc


async def read(
    reader: VenueReader, wallets: UserWallets
) -> tuple[SolanaFunds | VenueUnavailable, HyperliquidFunds | VenueUnavailable]:
    """Both venues at once; a venue that does not answer comes back as its error."""
    sol, hl = await asyncio.gather(
        reader.solana_funds(wallets.solana_address),
        reader.hyperliquid_funds(wallets.evm_address),
        return_exceptions=True,
    )
    return _venue_result(sol), _venue_result(hl)


def _venue_result(result: T | BaseException) -> T | VenueUnavailable:
    if isinstance(result, VenueUnavailable):
        return result
    if isinstance(result, BaseException):
        raise result  # a bug or a cancellation, not a venue being down
    return result


def max_capital(settings: Settings, usdc: Decimal, withdrawable: Decimal) -> Decimal:
    fraction = settings.risk.positions.max_deployment_fraction
    return (2 * min(usdc, withdrawable) * fraction).quantize(_CENT, rounding=ROUND_DOWN)


def check(
    settings: Settings, capital_usd: Decimal, sol: SolanaFunds, hl: HyperliquidFunds
) -> FundingCheck:
    fraction = settings.risk.positions.max_deployment_fraction
    need = (capital_usd / 2 / fraction).quantize(_CENT)
    shortfalls = []
    if sol.usdc < need:
        shortfalls.append(Shortfall("asgard", "USDC", need, sol.usdc))
    if hl.withdrawable < need:
        shortfalls.append(Shortfall("hyperliquid", "USDC", need, hl.withdrawable))
    if sol.sol < MIN_SOL_FOR_FEES:
        shortfalls.append(Shortfall("asgard", "SOL", MIN_SOL_FOR_FEES, sol.sol))
    return FundingCheck(
        capital_usd=capital_usd,
        required_per_venue_usd=need,
        solana_usdc=sol.usdc,
        solana_sol=sol.sol,
        hyperliquid_withdrawable_usd=hl.withdrawable,
        max_capital_usd=max_capital(settings, sol.usdc, hl.withdrawable),
        shortfalls=tuple(shortfalls),
    )


async def check_user(
    reader: VenueReader,
    provider: WalletProvider,
    settings: Settings,
    user_id: uuid.UUID,
    capital_usd: Decimal,
) -> FundingCheck:
    """The funding check on fresh balances; a venue that cannot be read is a 503 naming it
    (funding that cannot be verified is not assumed)."""
    sol, hl = await read(reader, await wallets_of(provider, user_id))
    if isinstance(sol, VenueUnavailable):
        raise ApiError(sol.code, f"cannot read your Solana balance: {sol}")
    if isinstance(hl, VenueUnavailable):
        raise ApiError(hl.code, f"cannot read your Hyperliquid balance: {hl}")
    return check(settings, capital_usd, sol, hl)


def refusal(result: FundingCheck) -> ApiError:
    parts = [
        f"{s.venue} needs {canonical(s.needed)} {s.asset}, has {canonical(s.available)}"
        for s in result.shortfalls
    ]
    return ApiError(
        "WAL-0001",
        f"capital_usd: your venues cannot fund {canonical(result.capital_usd)} "
        f"({'; '.join(parts)}); the most they can fund now is {canonical(result.max_capital_usd)}",
        details={
            "required_per_venue_usd": canonical(result.required_per_venue_usd),
            "max_capital_usd": canonical(result.max_capital_usd),
            "shortfalls": [
                {
                    "venue": s.venue,
                    "asset": s.asset,
                    "needed": canonical(s.needed),
                    "available": canonical(s.available),
                }
                for s in result.shortfalls
            ],
        },
    )
