"""The configured wallet provider (``wallet_provider: local | privy``), for the API (which
ensures wallets at login) and the worker (whose activities sign)."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from basis.clock import Clock, utc_now
from basis.config import Settings
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
    keystore = LocalKeystore(sessions, settings.server_secret.get_secret_value(), clock=clock)
    return LocalWalletProvider(keystore)
