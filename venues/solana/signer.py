"""Wallet signers: sign only the wallet's own slot of an API-built transaction.

``WalletSigner`` is the seam: ``KeypairSigner`` holds a local solders keypair; a custodial
wallet provider implements the same two members remotely, and a ``SignerProvider`` finds the
signer for a user id (so activities never carry key material in workflow history).
``TransactionSigner`` puts the validator in front of any signer: nothing is signed that the
policy refuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from solders.keypair import Keypair
from solders.message import to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from venues.solana.errors import TransactionRefused
from venues.solana.validator import TransactionPolicy, validate_transaction


class WalletSigner(Protocol):
    """Signs raw message bytes for one wallet."""

    @property
    def pubkey(self) -> Pubkey: ...

    async def sign_message(self, message: bytes) -> Signature: ...


class SignerProvider(Protocol):
    """Looks up the signer of a user's Solana wallet (a local keystore or a custodian)."""

    async def signer_for(self, user_id: str) -> WalletSigner: ...


class KeypairSigner:
    """A wallet whose ed25519 key is held in this process."""

    def __init__(self, keypair: Keypair) -> None:
        self._keypair = keypair

    @property
    def pubkey(self) -> Pubkey:
        return self._keypair.pubkey()

    async def sign_message(self, message: bytes) -> Signature:
        return self._keypair.sign_message(message)

    def __repr__(self) -> str:  # never show the secret
        return f"KeypairSigner({self.pubkey})"


class StaticSignerProvider:
    """Signers known up front, by user id (paper mode, tests)."""

    def __init__(self, signers: Mapping[str, WalletSigner]) -> None:
        self._signers = dict(signers)

    async def signer_for(self, user_id: str) -> WalletSigner:
        try:
            return self._signers[user_id]
        except KeyError:
            raise TransactionRefused(f"no Solana signer for user {user_id}") from None


class TransactionSigner:
    """Validates an API-built transaction, then fills in the wallet's signature only.

    Other signer slots (an API co-signer, a fresh account keypair) are left exactly as the
    API sent them. Signing is deterministic (ed25519), so signing the same message twice
    yields the same signature and the same transaction id.
    """

    def __init__(self, signer: WalletSigner, policy: TransactionPolicy) -> None:
        self.signer = signer
        self.policy = policy

    @property
    def pubkey(self) -> Pubkey:
        return self.signer.pubkey

    async def sign(self, tx: VersionedTransaction) -> VersionedTransaction:
        wallet = self.signer.pubkey
        index = validate_transaction(tx, wallet, self.policy)
        message = to_bytes_versioned(tx.message)
        signature = await self.signer.sign_message(message)
        if not signature.verify(wallet, message):
            # A remote signer answering for another key (or garbage) must not produce a
            # transaction that looks signed.
            raise TransactionRefused(f"signer returned a signature that {wallet} did not make")
        slots = list(tx.signatures)
        needed = tx.message.header.num_required_signatures
        slots.extend(Signature.default() for _ in range(needed - len(slots)))
        slots[index] = signature
        return VersionedTransaction.populate(tx.message, slots)
