"""The configured wallet provider (``wallet_provider: local | privy``), for the API (which
ensures wallets at login) and the worker (whose activities sign)."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from basis.clock import Clock, utc_now
from basis.config import INSECURE_DEFAULT_SECRET, Settings
from wallets.envelope import KekRing
from wallets.keystore import LocalKeystore
from wallets.privy import PrivyApi, PrivyWalletProvider
from wallets.provider import LocalWalletProvider, WalletProvider


def wallet_provider(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    clock: Clock = utc_now,
    privy_transport: httpx.AsyncBaseTransport | None = None,
) -> WalletProvider:
    if settings.wallet_provider == "privy":
        api = PrivyApi(settings.privy, transport=privy_transport)
        return PrivyWalletProvider(sessions, api, clock=clock)
    keystore = LocalKeystore(sessions, kek_ring(settings), clock=clock)
    return LocalWalletProvider(keystore)


def kek_ring(settings: Settings) -> KekRing:
    """The KEKs this process holds. A process with ``wallet_keks`` (the worker) also reads
    the legacy version 1 from the server secret, so wallets made before the split still sign
    until ``basis keys rotate``; a process with only ``wallet_kek_public`` (the API) holds
    nothing that decrypts; with neither (paper, development) the legacy key does both."""
    private = settings.wallet_keks.get_secret_value()
    public = settings.wallet_kek_public
    secret = settings.server_secret.get_secret_value()
    # An empty (or absent) server secret on a new deployment: there is no legacy key to read.
    legacy_ok = len(secret) >= 16 and (
        settings.mode == "paper" or secret != INSECURE_DEFAULT_SECRET
    )
    if private.strip():
        return KekRing.parse(private, public, legacy_secret=secret if legacy_ok else None)
    if public.strip():
        return KekRing.parse(public_line=public)
    return KekRing.legacy(secret)
