"""Local keystore: keys generated server-side and kept encrypted in the ``wallets`` table.

For paper and self-hosted use. The hosted service uses a custodial provider instead; both sit
behind the same ``WalletProvider`` interface.

The API builds its keystore with the KEK's public key only: it creates wallets (the secret
exists in its memory for the moment it is sealed) but cannot decrypt any stored one. The
worker's keystore holds the private KEKs and signs. ``rotate`` re-wraps every data key under
the newest KEK while both old and new are held, so nothing stops during a rotation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount
from solders.keypair import Keypair
from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from basis.clock import Clock, utc_now
from models.domain import Chain
from models.tables import Wallet
from wallets.envelope import KekRing, new_data_key, seal, unseal

PROVIDER = "local"


@dataclass(frozen=True, slots=True)
class UserWallets:
    user_id: uuid.UUID
    solana_address: str
    evm_address: str
    created: bool = False
    """True when this call created at least one of them."""


class WalletNotFoundError(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class RotationReport:
    version: int
    """The KEK version every data key is now wrapped under."""
    rewrapped: int
    already_current: int
    remaining: dict[int, int]
    """Rows still under an older version (changed concurrently; run again)."""


def _aad(user_id: uuid.UUID, chain: Chain, address: str) -> bytes:
    return f"{user_id}|{chain.value}|{address}".encode()


class LocalKeystore:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        keks: KekRing | str,
        clock: Clock = utc_now,
    ) -> None:
        """``keks``: the KEK ring, or (paper, tests) a server secret for the legacy key."""
        self._sessions = sessions
        self._keks = KekRing.legacy(keks) if isinstance(keks, str) else keks
        self._keks.current  # noqa: B018 - no KEK at all is a configuration error, found now
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

    async def key_versions(self) -> dict[int, int]:
        """How many local wallets are wrapped under each KEK version."""
        async with self._sessions() as s:
            rows = (
                await s.exec(
                    select(Wallet.key_version, func.count())
                    .where(Wallet.provider == PROVIDER)
                    .group_by(col(Wallet.key_version))
                )
            ).all()
        return {int(v): int(n) for v, n in rows}

    async def rotate(self, batch: int = 200) -> RotationReport:
        """Re-wrap every local data key under the newest KEK. Only the wrapped DEK changes
        (the wallet ciphertext does not), each row in its own short transaction and only if
        its version is still the one read, so signers keep working throughout: a worker that
        holds both KEKs reads either version. Safe to run again after an interruption."""
        target = self._keks.current
        rewrapped = 0
        while True:
            async with self._sessions() as s:
                rows = (
                    await s.exec(
                        select(Wallet)
                        .where(
                            Wallet.provider == PROVIDER,
                            Wallet.key_version != target.version,
                            col(Wallet.wrapped_data_key).is_not(None),
                        )
                        .limit(batch)
                    )
                ).all()
            if not rows:
                break
            progressed = 0
            for row in rows:
                assert row.wrapped_data_key is not None  # selected non-null above
                aad = str(row.user_id).encode()
                dek = self._keks.get(row.key_version).unwrap(row.wrapped_data_key, aad)
                async with self._sessions() as s, s.begin():
                    result = await s.exec(
                        update(Wallet)
                        .where(
                            col(Wallet.id) == row.id,
                            col(Wallet.key_version) == row.key_version,
                        )
                        .values(wrapped_data_key=target.wrap(dek, aad), key_version=target.version)
                    )
                if result.rowcount:
                    rewrapped += 1
                    progressed += 1
            if not progressed:
                break  # every row changed under us: report what remains rather than spin
        versions = await self.key_versions()
        current = versions.pop(target.version, 0)
        return RotationReport(
            version=target.version,
            rewrapped=rewrapped,
            already_current=current - rewrapped,
            remaining=versions,
        )

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
        kek = self._keks.current
        return Wallet(
            user_id=user_id,
            chain=chain,
            address=address,
            provider=PROVIDER,
            encrypted_key=seal(dek, secret, aad),
            wrapped_data_key=kek.wrap(dek, str(user_id).encode()),
            key_version=kek.version,
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
        dek = self._keks.get(row.key_version).unwrap(row.wrapped_data_key, str(user_id).encode())
        return unseal(dek, row.encrypted_key, _aad(user_id, chain, row.address))
