"""Payload encryption for Temporal: every workflow input, result, signal and memo leaves the
process as AES-256-GCM ciphertext, so a reader of Temporal's history (its UI, its database,
its backups) sees sizes, addresses and signatures only as opaque bytes.

Keys come from one secret (``temporal.payload_keys``), one key a line: ``<key id> <base64 of
32 bytes>``. The **last** line encrypts; every line decrypts, chosen by the key id each
encrypted payload carries in its metadata. Rotation is therefore "append a key, restart":
histories written under the older keys still decode, and a key may be dropped only once no
open workflow's history (within the namespace's retention) uses it.

The wire format follows the convention of Temporal's published encryption samples: the
original ``Payload`` is serialised, sealed, and carried in a new payload whose metadata says
``encoding: binary/encrypted`` and names the key. The key id is bound into the GCM associated
data, so a payload re-labelled with another id does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID_META = "encryption-key-id"
_NONCE = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class PayloadKeyError(ValueError):
    """The key file is malformed, or a payload names a key we do not hold, or did not
    authenticate under it."""


@dataclass(frozen=True, slots=True)
class PayloadKeys:
    keys: dict[str, bytes]
    active: str

    @classmethod
    def parse(cls, text: str) -> PayloadKeys:
        """Read ``<key id> <base64 key>`` lines (``#`` comments and blank lines ignored)."""
        keys: dict[str, bytes] = {}
        active = ""
        for n, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 2:
                raise PayloadKeyError(
                    f"temporal.payload_keys line {n}: expected '<key id> <base64 key>'"
                )
            kid, b64 = parts
            if not _KEY_ID.match(kid):
                raise PayloadKeyError(
                    f"temporal.payload_keys line {n}: key id {kid!r} must be 1-64 of "
                    "letters, digits, '.', '_' or '-'"
                )
            if kid in keys:
                raise PayloadKeyError(f"temporal.payload_keys line {n}: key id {kid} repeated")
            try:
                key = base64.b64decode(b64, validate=True)
            except binascii.Error as exc:
                raise PayloadKeyError(
                    f"temporal.payload_keys line {n}: key {kid} is not base64"
                ) from exc
            if len(key) != 32:
                raise PayloadKeyError(
                    f"temporal.payload_keys line {n}: key {kid} has {len(key)} bytes, needs 32"
                )
            keys[kid] = key
            active = kid
        if not keys:
            raise PayloadKeyError("temporal.payload_keys: no key (one '<key id> <base64>' a line)")
        return cls(keys=keys, active=active)


def new_key_line(key_id: str) -> str:
    """A fresh key line to append to the key file (``basis temporal payload-key``)."""
    if not _KEY_ID.match(key_id):
        raise PayloadKeyError(f"key id {key_id!r}: 1-64 of letters, digits, '.', '_' or '-'")
    return f"{key_id} {base64.b64encode(os.urandom(32)).decode()}"


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: PayloadKeys) -> None:
        self._keys = keys
        self._aead = {kid: AESGCM(k) for kid, k in keys.keys.items()}

    @property
    def active_key_id(self) -> str:
        return self._keys.active

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        kid = self._keys.active
        aead = self._aead[kid]
        out = []
        for p in payloads:
            nonce = os.urandom(_NONCE)
            sealed = nonce + aead.encrypt(nonce, p.SerializeToString(), kid.encode())
            out.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID_META: kid.encode()},
                    data=sealed,
                )
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            if p.metadata.get("encoding") != ENCODING:
                # Not ours: histories recorded before encryption was turned on stay readable.
                out.append(p)
                continue
            kid = p.metadata.get(KEY_ID_META, b"").decode(errors="replace")
            aead = self._aead.get(kid)
            if aead is None:
                raise PayloadKeyError(f"payload encrypted under key {kid!r}, which is not held")
            if len(p.data) <= _NONCE:
                raise PayloadKeyError(f"payload under key {kid!r} is truncated")
            try:
                plain = aead.decrypt(p.data[:_NONCE], p.data[_NONCE:], kid.encode())
            except InvalidTag as exc:
                raise PayloadKeyError(f"payload under key {kid!r} did not authenticate") from exc
            inner = Payload()
            inner.ParseFromString(plain)
            out.append(inner)
        return out
