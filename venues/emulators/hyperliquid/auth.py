"""Who signed an ``/exchange`` request, and whether its nonce may be used.

Recovery is implemented from the venue's rules (msgpack hash + EIP-712), independently of the
SDK's signing helpers, and checked against the golden vectors in the tests.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from typing import Any

import msgpack
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak

_ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
_DOMAIN_TYPES = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]

# User-signed actions the emulator accepts: EIP-712 primary type and fields after
# ``hyperliquidChain`` (which every one of them starts with).
USER_SIGNED_TYPES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "usdSend": ("UsdSend", [("destination", "string"), ("amount", "string"), ("time", "uint64")]),
    "withdraw3": (
        "Withdraw",
        [("destination", "string"), ("amount", "string"), ("time", "uint64")],
    ),
    "usdClassTransfer": (
        "UsdClassTransfer",
        [("amount", "string"), ("toPerp", "bool"), ("nonce", "uint64")],
    ),
    "approveAgent": (
        "ApproveAgent",
        [("agentAddress", "address"), ("agentName", "string"), ("nonce", "uint64")],
    ),
}


class SignatureInvalid(Exception):
    """The signature cannot be recovered at all (malformed r/s/v)."""


def l1_connection_id(
    action: Mapping[str, Any], vault_address: str | None, nonce: int, expires_after: int | None
) -> bytes:
    data = msgpack.packb(action)
    data += nonce.to_bytes(8, "big")
    if vault_address is None:
        data += b"\x00"
    else:
        data += b"\x01" + bytes.fromhex(vault_address.removeprefix("0x"))
    if expires_after is not None:
        data += b"\x00" + expires_after.to_bytes(8, "big")
    digest: bytes = keccak(data)
    return digest


def _recover(typed_data: dict[str, Any], signature: Mapping[str, Any]) -> str:
    try:
        vrs = (int(signature["v"]), int(str(signature["r"]), 16), int(str(signature["s"]), 16))
        signable = encode_typed_data(full_message=typed_data)
        address: str = Account.recover_message(signable, vrs=vrs)
    except (KeyError, TypeError, ValueError) as exc:
        raise SignatureInvalid(str(exc)) from exc
    except Exception as exc:  # eth-keys raises its own BadSignature types
        raise SignatureInvalid(str(exc)) from exc
    return address.lower()


def recover_l1_signer(
    action: Mapping[str, Any],
    signature: Mapping[str, Any],
    *,
    nonce: int,
    vault_address: str | None,
    expires_after: int | None,
    mainnet: bool,
) -> str:
    """The (lower-case) address that signed an L1 action for this environment."""
    connection_id = l1_connection_id(action, vault_address, nonce, expires_after)
    typed = {
        "domain": {
            "chainId": 1337,
            "name": "Exchange",
            "verifyingContract": _ZERO_ADDRESS,
            "version": "1",
        },
        "types": {
            "Agent": [
                {"name": "source", "type": "string"},
                {"name": "connectionId", "type": "bytes32"},
            ],
            "EIP712Domain": _DOMAIN_TYPES,
        },
        "primaryType": "Agent",
        "message": {"source": "a" if mainnet else "b", "connectionId": connection_id},
    }
    return _recover(typed, signature)


def recover_user_signer(
    action: Mapping[str, Any], signature: Mapping[str, Any], *, mainnet: bool
) -> str:
    """The address that signed a user-signed action. The venue puts its *own* chain name in
    the message, so an action signed for the other environment recovers to a stranger."""
    kind = str(action.get("type"))
    name, fields = USER_SIGNED_TYPES[kind]
    try:
        chain_id = int(str(action["signatureChainId"]), 16)
    except (KeyError, ValueError) as exc:
        raise SignatureInvalid("signatureChainId missing or not hex") from exc
    message: dict[str, Any] = {"hyperliquidChain": "Mainnet" if mainnet else "Testnet"}
    for field_name, _ in fields:
        # An unnamed agent is signed with "" and sent without the field.
        default = "" if field_name == "agentName" else None
        message[field_name] = action.get(field_name, default)
    typed = {
        "domain": {
            "name": "HyperliquidSignTransaction",
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": _ZERO_ADDRESS,
        },
        "types": {
            f"HyperliquidTransaction:{name}": [
                {"name": "hyperliquidChain", "type": "string"},
                *({"name": n, "type": t} for n, t in fields),
            ],
            "EIP712Domain": _DOMAIN_TYPES,
        },
        "primaryType": f"HyperliquidTransaction:{name}",
        "message": message,
    }
    return _recover(typed, signature)


def check_nonce(
    kept: list[int], nonce: int, *, now_ms: int, past_ms: int, future_ms: int, capacity: int
) -> str | None:
    """The venue's nonce rule for one signer; returns the error, or records the nonce.

    ``kept`` is the signer's sorted list of highest nonces (mutated on success)."""
    i = bisect.bisect_left(kept, nonce)
    if i < len(kept) and kept[i] == nonce:
        return f"Invalid nonce: duplicate nonce {nonce}"
    if len(kept) >= capacity and nonce < kept[0]:
        return f"Invalid nonce: nonce {nonce} is lower than every one of the last {capacity} used"
    if not now_ms - past_ms < nonce < now_ms + future_ms:
        return f"Invalid nonce: nonce {nonce} is outside the allowed time window"
    kept.insert(i, nonce)
    if len(kept) > capacity:
        del kept[0]
    return None
