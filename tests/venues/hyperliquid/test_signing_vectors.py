"""Our signer and the emulator's signature recovery agree with every golden vector."""

from __future__ import annotations

import json
from typing import Any

import msgpack
import pytest
from hyperliquid.utils import signing as sdk_signing

from tests.conftest import shared_path
from venues.emulators.hyperliquid.auth import (
    l1_connection_id,
    recover_l1_signer,
    recover_user_signer,
)
from venues.hyperliquid.signing import LocalSigner, Signature

# The vector file names user-signed actions by EIP-712 primary type; these are the SDK's field
# lists and the emulator's action type for each.
_USER_SIGNED = {
    "HyperliquidTransaction:UsdSend": (sdk_signing.USD_SEND_SIGN_TYPES, "usdSend"),
    "HyperliquidTransaction:Withdraw": (sdk_signing.WITHDRAW_SIGN_TYPES, "withdraw3"),
}


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        shared_path("reference", "hyperliquid_signing_vectors.json").read_text()
    )
    assert data["l1"] and data["user_signed"], "the vector file has no vectors"
    return data


@pytest.fixture(scope="module")
def signer(vectors: dict[str, Any]) -> LocalSigner:
    return LocalSigner(vectors["private_key"])


def test_local_signer_derives_the_vector_address(vectors, signer) -> None:
    assert signer.address == vectors["address"]


async def test_local_signer_reproduces_every_l1_vector(vectors, signer) -> None:
    mismatches = []
    for v in vectors["l1"]:
        sig = await signer.sign_l1_action(
            v["action"],
            nonce=v["nonce"],
            vault_address=v["vaultAddress"],
            expires_after=v["expiresAfter"],
            is_mainnet=v["mainnet"],
        )
        if not sig.same_as(v["sig"]):
            mismatches.append((v["name"], v["mainnet"]))
    assert mismatches == [], f"signatures differ for {mismatches}"


async def test_local_signer_reproduces_every_user_signed_vector(vectors, signer) -> None:
    for v in vectors["user_signed"]:
        types, _ = _USER_SIGNED[v["primaryType"]]
        action = dict(v["message"], signatureChainId="0x66eee")
        action["hyperliquidChain"] = "Mainnet" if v["mainnet"] else "Testnet"
        sig = await signer.sign_user_signed_action(
            action, sign_types=types, primary_type=v["primaryType"], is_mainnet=v["mainnet"]
        )
        assert sig.same_as(v["sig"]), v["primaryType"]


def test_emulator_hashes_every_l1_action_like_the_vectors(vectors) -> None:
    for v in vectors["l1"]:
        assert msgpack.packb(v["action"]).hex() == v["msgpack_hex"], v["name"]
        cid = l1_connection_id(v["action"], v["vaultAddress"], v["nonce"], v["expiresAfter"])
        assert "0x" + cid.hex() == v["connectionId"], v["name"]
    pa = vectors["phantom_agent"]
    cid = l1_connection_id(pa["action"], None, pa["nonce"], None)
    assert "0x" + cid.hex() == pa["connectionId"]


def test_emulator_recovers_the_signer_of_every_l1_vector(vectors) -> None:
    expected = vectors["address"].lower()
    for v in vectors["l1"]:
        got = recover_l1_signer(
            v["action"],
            v["sig"],
            nonce=v["nonce"],
            vault_address=v["vaultAddress"],
            expires_after=v["expiresAfter"],
            mainnet=v["mainnet"],
        )
        assert got == expected, (v["name"], v["mainnet"])


def test_emulator_recovers_the_signer_of_every_user_signed_vector(vectors) -> None:
    expected = vectors["address"].lower()
    for v in vectors["user_signed"]:
        _, kind = _USER_SIGNED[v["primaryType"]]
        action = dict(v["message"], type=kind, signatureChainId="0x66eee")
        got = recover_user_signer(action, v["sig"], mainnet=v["mainnet"])
        assert got == expected, v["primaryType"]


def test_a_signature_for_the_other_chain_recovers_to_a_stranger(vectors) -> None:
    """An emulator set to the wrong environment must not accept the signature (the venue
    answers "User or API Wallet ... does not exist.")."""
    expected = vectors["address"].lower()
    for v in vectors["l1"]:
        got = recover_l1_signer(
            v["action"],
            v["sig"],
            nonce=v["nonce"],
            vault_address=v["vaultAddress"],
            expires_after=v["expiresAfter"],
            mainnet=not v["mainnet"],
        )
        assert got != expected, v["name"]


async def test_expires_after_is_part_of_what_is_signed(signer) -> None:
    action = {"type": "scheduleCancel"}
    sig = await signer.sign_l1_action(
        action, nonce=7, vault_address=None, expires_after=1_000, is_mainnet=False
    )
    assert (
        recover_l1_signer(
            action, sig.to_wire(), nonce=7, vault_address=None, expires_after=1_000, mainnet=False
        )
        == signer.address.lower()
    )
    assert (
        recover_l1_signer(
            action, sig.to_wire(), nonce=7, vault_address=None, expires_after=2_000, mainnet=False
        )
        != signer.address.lower()
    )


def test_wire_signatures_compare_as_integers_not_strings() -> None:
    sig = Signature(r="0x0abc", s="0x01", v=27)
    assert sig.same_as({"r": "0xabc", "s": "0x1", "v": 27})
    assert not sig.same_as({"r": "0xabd", "s": "0x1", "v": 27})


def test_local_signer_never_shows_its_key() -> None:
    signer = LocalSigner.generate()
    assert signer.private_key_hex()[2:] not in repr(signer)
    assert signer.address in repr(signer)
