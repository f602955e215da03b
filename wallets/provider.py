"""The wallet-provider seam: user id in, addresses and signers out.

Activities ask a provider for a user's signers at the moment they sign; nothing secret
travels through Temporal. ``LocalWalletProvider`` holds keys in the local keystore;
``wallets.privy.PrivyWalletProvider`` (Privy server wallets) implements the same protocol,
and ``wallets.factory`` picks one from the configuration.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from venues.hyperliquid.signing import LocalSigner, Signer
from venues.solana.signer import KeypairSigner, WalletSigner
from wallets.keystore import LocalKeystore, UserWallets


class WalletProvider(Protocol):
    async def ensure_wallets(self, user_id: uuid.UUID) -> UserWallets:
        """Create the user's Solana and EVM wallets if missing; return their addresses."""
        ...

    async def addresses(self, user_id: uuid.UUID) -> UserWallets: ...

    async def hyperliquid_signer(self, user_id: uuid.UUID) -> Signer:
        """Signs Hyperliquid actions for the user's EVM account (its master address)."""
        ...

    async def solana_signer(self, user_id: uuid.UUID) -> WalletSigner: ...

    async def aclose(self) -> None:
        """Release connections (a remote provider's HTTP client)."""
        ...


class LocalWalletProvider:
    """Keys generated server-side and kept encrypted in the database."""

    def __init__(self, keystore: LocalKeystore) -> None:
        self._keystore = keystore

    async def ensure_wallets(self, user_id: uuid.UUID) -> UserWallets:
        return await self._keystore.ensure_wallets(user_id)

    async def aclose(self) -> None:
        return None  # nothing held open

    async def addresses(self, user_id: uuid.UUID) -> UserWallets:
        return await self._keystore.addresses(user_id)

    async def hyperliquid_signer(self, user_id: uuid.UUID) -> Signer:
        account = await self._keystore.evm_account(user_id)
        return LocalSigner(account.key)

    async def solana_signer(self, user_id: uuid.UUID) -> WalletSigner:
        return KeypairSigner(await self._keystore.solana_keypair(user_id))
