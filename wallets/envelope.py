"""Envelope encryption of wallet keys.

- Wallet secret: AES-256-GCM under a per-user data key (DEK, 32 random bytes).
- DEK: stored only wrapped under a key-encryption key (KEK) of a numbered version, kept in
  ``wallets.key_version`` beside the wrapped key.
- KEK versions >= 2 are X25519 key pairs. Wrapping needs only the public half (an ephemeral
  X25519 agreement, HKDF-SHA256, AES-256-GCM: the sealed-box construction), so the API can
  create wallets while only the worker, which holds the private half, can unwrap.
- KEK version 1 is the legacy symmetric key derived from the server secret (HKDF-SHA256).
  It is still read, so wallets made before the split keep working until ``basis keys
  rotate`` re-wraps them; live modes never wrap new keys under it.

Every ciphertext is bound to its context through the associated data (user, chain, address;
the user id and KEK version for the wrapped DEK), so a ciphertext copied onto another row, or
relabelled with another version, does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE = 12
_SALT = b"asgard-basis/wallet-kek"
_RAW = serialization.Encoding.Raw
LEGACY_VERSION = 1


class KeyDecryptionError(Exception):
    """A wrapped key or ciphertext did not authenticate: wrong secret, or tampered data."""


class KekUnavailableError(LookupError):
    """This process does not hold the private half of the KEK a key is wrapped under (the
    API never does), or no KEK of that version is configured at all."""


class KekConfigError(ValueError):
    """The configured KEK lines are malformed; the message names the setting and line."""


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


def _sealed_box_key(shared: bytes, ephemeral: bytes, recipient: bytes, version: int) -> bytes:
    # Both public keys in the salt: the wrapping key is bound to this exchange and recipient.
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=ephemeral + recipient,
        info=f"asgard-basis/wallet-kek/x25519/v{version}".encode(),
    ).derive(shared)


@dataclass(frozen=True, slots=True)
class Kek:
    """One KEK version: legacy symmetric (``secret``), or X25519 (``public``, and ``private``
    where this process may unwrap)."""

    version: int
    secret: bytes | None = None
    public: X25519PublicKey | None = None
    private: X25519PrivateKey | None = None

    @property
    def can_unwrap(self) -> bool:
        return self.secret is not None or self.private is not None

    def wrap(self, dek: bytes, aad: bytes) -> bytes:
        aad = self._aad(aad)
        if self.secret is not None:
            return seal(self.secret, dek, aad)
        if self.public is None:
            raise KekUnavailableError(f"KEK version {self.version} has no public key")
        eph = X25519PrivateKey.generate()
        eph_pub = eph.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
        recipient = self.public.public_bytes(_RAW, serialization.PublicFormat.Raw)
        key = _sealed_box_key(eph.exchange(self.public), eph_pub, recipient, self.version)
        return eph_pub + seal(key, dek, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        aad = self._aad(aad)
        if self.secret is not None:
            return unseal(self.secret, blob, aad)
        if self.private is None:
            raise KekUnavailableError(
                f"KEK version {self.version}: this process holds only the public key "
                "(wallet keys are decrypted on the worker)"
            )
        if len(blob) <= 32 + _NONCE:
            raise KeyDecryptionError("wrapped key too short")
        eph_pub = blob[:32]
        recipient = self.private.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
        shared = self.private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
        key = _sealed_box_key(shared, eph_pub, recipient, self.version)
        return unseal(key, blob[32:], aad)

    def _aad(self, aad: bytes) -> bytes:
        # Version 1 predates version binding: its stored keys were sealed with the bare AAD.
        return aad if self.version == LEGACY_VERSION else aad + f"|kek:v{self.version}".encode()


@dataclass(frozen=True, slots=True)
class KekRing:
    """Every KEK version this process knows; ``current`` wraps new data keys."""

    keks: dict[int, Kek] = field(default_factory=dict)

    @property
    def current(self) -> Kek:
        if not self.keks:
            raise KekUnavailableError("no key-encryption key configured")
        return self.keks[max(self.keks)]

    def get(self, version: int) -> Kek:
        kek = self.keks.get(version)
        if kek is None:
            raise KekUnavailableError(f"no key-encryption key for version {version}")
        return kek

    @classmethod
    def legacy(cls, server_secret: str) -> KekRing:
        """Version 1 only, derived from the server secret (paper and development)."""
        return cls({LEGACY_VERSION: Kek(LEGACY_VERSION, secret=derive_kek(server_secret, 1))})

    @classmethod
    def parse(
        cls, private_lines: str = "", public_line: str = "", legacy_secret: str | None = None
    ) -> KekRing:
        """``private_lines``: ``<version> <base64 X25519 private key>`` a line (the worker);
        ``public_line``: ``<version> <base64 public key>`` (the API); ``legacy_secret``: also
        read version 1 from the server secret."""
        keks: dict[int, Kek] = {}
        if legacy_secret is not None:
            keks.update(cls.legacy(legacy_secret).keks)
        for n, (version, raw) in enumerate(_lines(private_lines, "wallet_keks"), start=1):
            try:
                priv = X25519PrivateKey.from_private_bytes(raw)
            except ValueError as exc:
                raise KekConfigError(f"wallet_keks line {n}: not an X25519 private key") from exc
            if version in keks and keks[version].private is not None:
                raise KekConfigError(f"wallet_keks line {n}: version {version} repeated")
            keks[version] = Kek(version, public=priv.public_key(), private=priv)
        for version, raw in _lines(public_line, "wallet_kek_public"):
            try:
                pub = X25519PublicKey.from_public_bytes(raw)
            except ValueError as exc:
                raise KekConfigError("wallet_kek_public: not an X25519 public key") from exc
            held = keks.get(version)
            if held is not None and held.public is not None:
                mine = held.public.public_bytes(_RAW, serialization.PublicFormat.Raw)
                if mine != pub.public_bytes(_RAW, serialization.PublicFormat.Raw):
                    raise KekConfigError(
                        f"wallet_kek_public: version {version} does not match wallet_keks"
                    )
                continue
            keks[version] = Kek(version, public=pub)
        return cls(keks)


def _lines(text: str, setting: str) -> list[tuple[int, bytes]]:
    out = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise KekConfigError(f"{setting} line {n}: expected '<version> <base64 key>'")
        version = int(parts[0])
        if version <= LEGACY_VERSION:
            raise KekConfigError(
                f"{setting} line {n}: versions start at 2 (1 is the legacy derived key)"
            )
        try:
            key = base64.b64decode(parts[1], validate=True)
        except binascii.Error as exc:
            raise KekConfigError(f"{setting} line {n}: key is not base64") from exc
        if len(key) != 32:
            raise KekConfigError(f"{setting} line {n}: key has {len(key)} bytes, needs 32")
        out.append((version, key))
    return out


def new_kek(version: int) -> tuple[str, str]:
    """A fresh KEK: (private line for the worker's ``wallet_keks``, public line for the
    API's ``wallet_kek_public``)."""
    if version <= LEGACY_VERSION:
        raise KekConfigError("KEK versions start at 2 (1 is the legacy derived key)")
    priv = X25519PrivateKey.generate()
    priv_raw = priv.private_bytes(
        _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    pub_raw = priv.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
    return (
        f"{version} {base64.b64encode(priv_raw).decode()}",
        f"{version} {base64.b64encode(pub_raw).decode()}",
    )
