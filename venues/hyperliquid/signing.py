"""Signing Hyperliquid actions, behind a signer interface that a custodial wallet can implement.

Two kinds of action exist (see ../shared/VENUES.md):
- **L1 actions** (order, cancel, leverage, margin, schedule-cancel): the msgpack hash of the
  action, nonce, vault and expiry becomes the ``connectionId`` of a phantom ``Agent`` message,
  signed under the ``Exchange`` EIP-712 domain. An approved API wallet (agent) may sign these
  for its master account.
- **User-signed actions** (transfers, approving an agent): the action's fields are signed as
  ``HyperliquidTransaction:<Name>`` under the ``HyperliquidSignTransaction`` domain. Only the
  account's own key may sign these.

The payloads are built with the SDK's own helpers, so what we sign is byte for byte what the
SDK would sign. Every signer reduces to one primitive, "sign this EIP-712 typed data": a local
key does it with eth-account, a remote wallet provider over its API.
"""

from __future__ import annotations

import asyncio
import copy
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.conversions import to_hex
from hyperliquid.utils import signing as sdk_signing

SIGNATURE_CHAIN_ID = "0x66eee"
"""The chain id the SDK signs user-signed actions under (any chain is accepted by the venue;
``hyperliquidChain`` is what prevents cross-environment replay)."""

TypedData = Mapping[str, Any]
SignTypes = Sequence[Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class Signature:
    """An ECDSA signature in the venue's wire form: ``r``/``s`` as minimal hex (not zero-padded),
    ``v`` 27 or 28."""

    r: str
    s: str
    v: int

    def to_wire(self) -> dict[str, Any]:
        return {"r": self.r, "s": self.s, "v": self.v}

    def same_as(self, other: Mapping[str, Any]) -> bool:
        """Compare with a wire signature as integers (the venue does not zero-pad)."""
        return (
            int(self.r, 16) == int(str(other["r"]), 16)
            and int(self.s, 16) == int(str(other["s"]), 16)
            and self.v == int(other["v"])
        )


@runtime_checkable
class Signer(Protocol):
    """Signs Hyperliquid actions for one address.

    ``address`` is the key's own address: the account itself, or an approved API wallet that
    trades on behalf of a master account (the client is then given the master address for
    queries). Implementations must be safe to call concurrently.
    """

    @property
    def address(self) -> str: ...

    async def sign_l1_action(
        self,
        action: Mapping[str, Any],
        *,
        nonce: int,
        vault_address: str | None,
        expires_after: int | None,
        is_mainnet: bool,
    ) -> Signature: ...

    async def sign_user_signed_action(
        self,
        action: Mapping[str, Any],
        *,
        sign_types: SignTypes,
        primary_type: str,
        is_mainnet: bool,
    ) -> Signature: ...


def l1_typed_data(
    action: Mapping[str, Any],
    *,
    nonce: int,
    vault_address: str | None,
    expires_after: int | None,
    is_mainnet: bool,
) -> dict[str, Any]:
    """The EIP-712 payload of an L1 action (the phantom agent over the action hash)."""
    connection_id = sdk_signing.action_hash(dict(action), vault_address, nonce, expires_after)
    agent = sdk_signing.construct_phantom_agent(connection_id, is_mainnet)
    payload: dict[str, Any] = sdk_signing.l1_payload(agent)
    return payload


def user_signed_typed_data(
    action: Mapping[str, Any], *, sign_types: SignTypes, primary_type: str, is_mainnet: bool
) -> dict[str, Any]:
    """The EIP-712 payload of a user-signed action. ``action`` must already carry
    ``signatureChainId`` and ``hyperliquidChain`` (see ``prepare_user_signed``)."""
    expected = "Mainnet" if is_mainnet else "Testnet"
    if action.get("hyperliquidChain") != expected:
        raise ValueError(f"hyperliquidChain must be {expected!r} for this venue")
    payload: dict[str, Any] = sdk_signing.user_signed_payload(
        primary_type, [dict(t) for t in sign_types], copy.deepcopy(dict(action))
    )
    return payload


def prepare_user_signed(action: Mapping[str, Any], *, is_mainnet: bool) -> dict[str, Any]:
    """The action with the chain fields the venue expects on a user-signed action."""
    out = dict(action)
    out["signatureChainId"] = SIGNATURE_CHAIN_ID
    out["hyperliquidChain"] = "Mainnet" if is_mainnet else "Testnet"
    return out


class TypedDataSigner(ABC):
    """Base for signers whose primitive is "sign EIP-712 typed data" (eth-account, or a
    custodial wallet API): builds the Hyperliquid payloads and delegates the signature."""

    @property
    @abstractmethod
    def address(self) -> str: ...

    @abstractmethod
    async def sign_typed_data(self, typed_data: TypedData) -> Signature: ...

    async def sign_l1_action(
        self,
        action: Mapping[str, Any],
        *,
        nonce: int,
        vault_address: str | None,
        expires_after: int | None,
        is_mainnet: bool,
    ) -> Signature:
        data = l1_typed_data(
            action,
            nonce=nonce,
            vault_address=vault_address,
            expires_after=expires_after,
            is_mainnet=is_mainnet,
        )
        return await self.sign_typed_data(data)

    async def sign_user_signed_action(
        self,
        action: Mapping[str, Any],
        *,
        sign_types: SignTypes,
        primary_type: str,
        is_mainnet: bool,
    ) -> Signature:
        data = user_signed_typed_data(
            action, sign_types=sign_types, primary_type=primary_type, is_mainnet=is_mainnet
        )
        return await self.sign_typed_data(data)


class LocalSigner(TypedDataSigner):
    """A private key held in this process (eth-account). The key never leaves the object:
    ``repr`` shows the address only."""

    def __init__(self, private_key: str | bytes) -> None:
        self._account = Account.from_key(private_key)

    @classmethod
    def generate(cls) -> LocalSigner:
        """A fresh random key (for API wallets and tests)."""
        return cls(Account.create().key)

    @property
    def address(self) -> str:
        address: str = self._account.address
        return address

    def __repr__(self) -> str:
        return f"LocalSigner({self.address})"

    def private_key_hex(self) -> str:
        """The key, for handing to a secret store. Never log it."""
        return str(to_hex(self._account.key))

    def sign_typed_data_sync(self, typed_data: TypedData) -> Signature:
        signable = encode_typed_data(full_message=dict(typed_data))
        signed = self._account.sign_message(signable)
        return Signature(r=to_hex(signed.r), s=to_hex(signed.s), v=int(signed.v))

    async def sign_typed_data(self, typed_data: TypedData) -> Signature:
        # Pure-Python secp256k1 takes a few milliseconds: keep it off the event loop.
        return await asyncio.to_thread(self.sign_typed_data_sync, typed_data)
