"""Local keystore: keys generated server-side and kept encrypted in the ``wallets`` table.

For paper and self-hosted use. The hosted service uses a custodial provider instead; both sit
behind the same ``WalletProvider`` interface.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount
from solders.keypair import Keypair
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from basis.clock import Clock, utc_now
from models.domain import Chain
from models.tables import Wallet
from wallets.envelope import derive_kek, new_data_key, seal, unseal

PROVIDER = "local"
KEY_VERSION = 1


@dataclass(frozen=True, slots=True)
class UserWallets:
    user_id: uuid.UUID
    solana_address: str
    evm_address: str
    created: bool = False
    """True when this call created at least one of them."""


class WalletNotFoundError(LookupError):
    pass


def _aad(user_id: uuid.UUID, chain: Chain, address: str) -> bytes:
    return f"{user_id}|{chain.value}|{address}".encode()


class LocalKeystore:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        server_secret: str,
        clock: Clock = utc_now,
    ) -> None:
        self._sessions = sessions
        self._kek = {KEY_VERSION: derive_kek(server_secret, KEY_VERSION)}
        self._clock = clock

    async def ensure_wallets(self, user_id: uuid.UUID) -> UserWallets:
        """Create whichever of the user's Solana and EVM wallets is missing. Safe to call
        concurrently: a lost race re-reads the winner's row."""
        existing = await self._by_chain(user_id)
        created = False
        for chain in (Chain.SOLANA, Chain.EVM):
            if chain in existing:
                continue
            row = self._generate(user_id, chain)
            try:
                async with self._sessions() as s, s.begin():
                    s.add(row)
                created = True
            except IntegrityError:
                pass  # created concurrently; the re-read below finds it
        if len(existing) < 2:
            existing = await self._by_chain(user_id)
        return UserWallets(
            user_id=user_id,
            solana_address=existing[Chain.SOLANA].address,
            evm_address=existing[Chain.EVM].address,
            created=created,
        )

    async def addresses(self, user_id: uuid.UUID) -> UserWallets:
        rows = await self._by_chain(user_id)
        if Chain.SOLANA not in rows or Chain.EVM not in rows:
            raise WalletNotFoundError(f"user {user_id} has no wallets")
        return UserWallets(user_id, rows[Chain.SOLANA].address, rows[Chain.EVM].address)

    async def solana_keypair(self, user_id: uuid.UUID) -> Keypair:
        return Keypair.from_bytes(await self._secret(user_id, Chain.SOLANA))

    async def evm_account(self, user_id: uuid.UUID) -> LocalAccount:
        account: LocalAccount = Account.from_key(await self._secret(user_id, Chain.EVM))
        return account

    # ---- internals -------------------------------------------------------------------------

    def _generate(self, user_id: uuid.UUID, chain: Chain) -> Wallet:
        if chain is Chain.SOLANA:
            kp = Keypair()
            secret, address = bytes(kp), str(kp.pubkey())
        else:
            acct = Account.create()
            secret, address = bytes(acct.key), acct.address
        dek = new_data_key()
        aad = _aad(user_id, chain, address)
        return Wallet(
            user_id=user_id,
            chain=chain,
            address=address,
            provider=PROVIDER,
            encrypted_key=seal(dek, secret, aad),
            wrapped_data_key=seal(self._kek[KEY_VERSION], dek, str(user_id).encode()),
            key_version=KEY_VERSION,
            created_at=self._clock(),
        )

    async def _by_chain(self, user_id: uuid.UUID) -> dict[Chain, Wallet]:
        async with self._sessions() as s:
            rows = (await s.exec(select(Wallet).where(Wallet.user_id == user_id))).all()
        return {Chain(r.chain): r for r in rows}

    async def _secret(self, user_id: uuid.UUID, chain: Chain) -> bytes:
        row = (await self._by_chain(user_id)).get(chain)
        if row is None or row.encrypted_key is None or row.wrapped_data_key is None:
            raise WalletNotFoundError(f"user {user_id} has no local {chain.value} wallet")
        kek = self._kek.get(row.key_version)
        if kek is None:
            raise WalletNotFoundError(f"no key-encryption key for version {row.key_version}")
        dek = unseal(kek, row.wrapped_data_key, str(user_id).encode())
        return unseal(dek, row.encrypted_key, _aad(user_id, chain, row.address))
