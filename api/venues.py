"""Read-only venue access for the API: balances and the market view. Never trading: the
objects built here sign nothing and no route can reach an order path through them.

Built lazily (the API starts and serves everything else while a venue is down) and shared by
all requests of the process; a venue that does not answer becomes ``VenueUnavailable``, which
routes turn into a 503 naming the venue.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import httpx
from solders.pubkey import Pubkey

from activities.market import MarketObserver, MarketUnavailable
from basis.clock import Clock, utc_now
from basis.config import Settings
from models.domain import Venue
from strategy.market import MarketSnapshot
from venues.asgard.client import AsgardClient
from venues.asgard.errors import AsgardError
from venues.asgard.factory import asgard_client, solana_rpc
from venues.asgard.tokens import USDC
from venues.hyperliquid.errors import HyperliquidError
from venues.hyperliquid.venue import HyperliquidVenue
from venues.solana.errors import SolanaError
from venues.solana.rpc import SolanaRpc

log = logging.getLogger(__name__)

_CODES = {Venue.HYPERLIQUID: "HLQ-0002", Venue.ASGARD: "ASG-0002"}


class VenueUnavailable(Exception):
    def __init__(self, venue: Venue | None, message: str) -> None:
        super().__init__(message)
        self.venue = venue

    @property
    def code(self) -> str:
        return _CODES.get(self.venue, "GEN-0003") if self.venue else "GEN-0003"


@dataclass(frozen=True, slots=True)
class SolanaFunds:
    address: str
    sol: Decimal
    usdc: Decimal


@dataclass(frozen=True, slots=True)
class HyperliquidFunds:
    address: str
    account_value: Decimal
    withdrawable: Decimal


class VenueReader(Protocol):
    async def solana_funds(self, address: str) -> SolanaFunds: ...

    async def hyperliquid_funds(self, address: str) -> HyperliquidFunds: ...

    async def market(self) -> MarketSnapshot:
        """The current market view (cached a few seconds); its ``outages`` name venues
        that did not answer."""
        ...

    async def aclose(self) -> None: ...


class LiveVenueReader:
    """The real clients, pointed wherever the configuration says (emulators in paper mode)."""

    def __init__(self, settings: Settings, *, clock: Clock = utc_now) -> None:
        self._settings = settings
        self._clock = clock
        self._lock = asyncio.Lock()
        self._hl: HyperliquidVenue | None = None
        self._asgard: AsgardClient | None = None
        self._rpc: SolanaRpc | None = None
        self._observer: MarketObserver | None = None

    async def aclose(self) -> None:
        if self._asgard is not None:
            await self._asgard.close()
        if self._rpc is not None:
            await self._rpc.close()

    async def solana_funds(self, address: str) -> SolanaFunds:
        owner = Pubkey.from_string(address)
        rpc = self._solana()
        try:
            sol, usdc = await asyncio.gather(
                rpc.sol_balance(owner), rpc.token_balance(owner, Pubkey.from_string(USDC.mint))
            )
        except (SolanaError, httpx.HTTPError, OSError, TimeoutError) as exc:
            raise VenueUnavailable(Venue.ASGARD, f"Solana RPC: {exc}") from exc
        return SolanaFunds(address=address, sol=sol, usdc=usdc.amount)

    async def hyperliquid_funds(self, address: str) -> HyperliquidFunds:
        hl = await self._hyperliquid()
        try:
            state = await hl.user_state(address)
        except HyperliquidError as exc:
            raise VenueUnavailable(Venue.HYPERLIQUID, f"Hyperliquid: {exc}") from exc
        return HyperliquidFunds(
            address=address,
            account_value=state.account_value,
            withdrawable=max(state.withdrawable, Decimal(0)),
        )

    async def market(self) -> MarketSnapshot:
        observer = await self._market_observer()
        try:
            return await observer.snapshot()
        except MarketUnavailable as exc:
            raise VenueUnavailable(None, str(exc)) from exc
        except (HyperliquidError, AsgardError) as exc:
            venue = Venue.HYPERLIQUID if isinstance(exc, HyperliquidError) else Venue.ASGARD
            raise VenueUnavailable(venue, str(exc)) from exc

    # ---- lazily built clients --------------------------------------------------------------

    def _solana(self) -> SolanaRpc:
        if self._rpc is None:
            self._rpc = solana_rpc(self._settings)
        return self._rpc

    async def _hyperliquid(self) -> HyperliquidVenue:
        if self._hl is not None:
            return self._hl
        async with self._lock:
            if self._hl is None:
                v = self._settings.venues
                try:
                    self._hl = await HyperliquidVenue.connect(
                        v.hyperliquid_url, timeout=v.request_timeout_seconds
                    )
                except HyperliquidError as exc:
                    log.warning("hyperliquid unreachable: %s", exc)
                    raise VenueUnavailable(
                        Venue.HYPERLIQUID, f"Hyperliquid at {v.hyperliquid_url} is unreachable"
                    ) from exc
            return self._hl

    async def _market_observer(self) -> MarketObserver:
        if self._observer is not None:
            return self._observer
        hl = await self._hyperliquid()
        async with self._lock:
            if self._observer is None:
                self._asgard = asgard_client(self._settings)
                self._observer = MarketObserver(
                    hl, self._asgard, self._settings.risk, clock=self._clock
                )
            return self._observer
