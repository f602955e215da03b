"""Envelope encryption of wallet keys (the seed's KEK/DEK scheme).

- KEK (key-encryption key): derived from the server secret with HKDF-SHA256, per key version,
  never stored.
- DEK (data key): 32 random bytes per user, stored only wrapped (AES-256-GCM under the KEK).
- Wallet secret: AES-256-GCM under the DEK.

Every ciphertext is bound to its context through the associated data (user, chain, address),
so a ciphertext copied onto another user's row does not decrypt.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE = 12
_SALT = b"asgard-basis/wallet-kek"


class KeyDecryptionError(Exception):
    """A wrapped key or ciphertext did not authenticate: wrong secret, or tampered data."""


def derive_kek(server_secret: str, version: int) -> bytes:
    if len(server_secret) < 16:
        raise ValueError("server secret too short to derive a key from")
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=_SALT,
        info=f"kek:v{version}".encode(),
    ).derive(server_secret.encode())


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def unseal(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) <= _NONCE:
        raise KeyDecryptionError("ciphertext too short")
    try:
        return AESGCM(key).decrypt(blob[:_NONCE], blob[_NONCE:], aad)
    except InvalidTag as exc:
        raise KeyDecryptionError("ciphertext did not authenticate") from exc
