"""Payload encryption: AES-GCM under key ids from the key file, rotation by appending a key,
and refusal of anything we cannot authenticate."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from temporalio.api.common.v1 import Payload

from basis.codec import (
    ENCODING,
    KEY_ID_META,
    EncryptionCodec,
    PayloadKeyError,
    PayloadKeys,
    new_key_line,
)
from basis.config import load_settings
from basis.temporal import data_converter
from models.messages import ControlChange

K1, K2 = new_key_line("k1"), new_key_line("k2")


def _plain(data: bytes) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


async def test_a_payload_round_trips_and_is_ciphertext_on_the_wire() -> None:
    codec = EncryptionCodec(PayloadKeys.parse(K1))
    secret = b'{"user_id": "alice", "size_usd": "500000"}'
    [enc] = await codec.encode([_plain(secret)])
    assert enc.metadata["encoding"] == ENCODING
    assert enc.metadata[KEY_ID_META] == b"k1"
    assert b"alice" not in enc.data and b"500000" not in enc.data
    [dec] = await codec.decode([enc])
    assert dec == _plain(secret)


async def test_the_same_payload_encrypts_differently_each_time() -> None:
    codec = EncryptionCodec(PayloadKeys.parse(K1))
    a, b = await codec.encode([_plain(b"x"), _plain(b"x")])
    assert a.data != b.data


async def test_after_appending_a_key_new_payloads_use_it_and_old_ones_still_decode() -> None:
    before = EncryptionCodec(PayloadKeys.parse(K1))
    [old] = await before.encode([_plain(b"old")])
    after = EncryptionCodec(PayloadKeys.parse(f"{K1}\n# rotated\n{K2}\n"))
    assert after.active_key_id == "k2"
    [new] = await after.encode([_plain(b"new")])
    assert new.metadata[KEY_ID_META] == b"k2"
    assert [p.data for p in await after.decode([old, new])] == [b"old", b"new"]
    with pytest.raises(PayloadKeyError, match="key 'k2', which is not held"):
        await before.decode([new])


async def test_a_payload_under_another_key_with_the_same_id_does_not_decode() -> None:
    [enc] = await EncryptionCodec(PayloadKeys.parse(K1)).encode([_plain(b"x")])
    impostor = EncryptionCodec(PayloadKeys.parse(new_key_line("k1")))
    with pytest.raises(PayloadKeyError, match="did not authenticate"):
        await impostor.decode([enc])


async def test_a_payload_relabelled_with_another_key_id_does_not_decode() -> None:
    both = EncryptionCodec(PayloadKeys.parse(f"{K1}\n{K2}"))
    [enc] = await EncryptionCodec(PayloadKeys.parse(K1)).encode([_plain(b"x")])
    enc.metadata[KEY_ID_META] = b"k2"
    with pytest.raises(PayloadKeyError, match="did not authenticate"):
        await both.decode([enc])


async def test_tampered_or_truncated_ciphertext_is_refused() -> None:
    codec = EncryptionCodec(PayloadKeys.parse(K1))
    [enc] = await codec.encode([_plain(b"hello")])
    flipped = Payload(metadata=enc.metadata, data=enc.data[:-1] + bytes([enc.data[-1] ^ 1]))
    with pytest.raises(PayloadKeyError, match="did not authenticate"):
        await codec.decode([flipped])
    with pytest.raises(PayloadKeyError, match="truncated"):
        await codec.decode([Payload(metadata=enc.metadata, data=enc.data[:5])])


async def test_unencrypted_payloads_from_older_histories_pass_through() -> None:
    codec = EncryptionCodec(PayloadKeys.parse(K1))
    assert await codec.decode([_plain(b"recorded before encryption")]) == [
        _plain(b"recorded before encryption")
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no key"),
        ("k1", "line 1: expected '<key id> <base64 key>'"),
        ("bad/id " + base64.b64encode(b"x" * 32).decode(), "key id 'bad/id'"),
        ("k1 " + base64.b64encode(b"x" * 16).decode(), "has 16 bytes, needs 32"),
        ("k1 ###", "not base64"),
        (f"{K1}\n{K1}", "line 2: key id k1 repeated"),
    ],
)
def test_a_bad_key_file_is_refused_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(PayloadKeyError, match=message):
        PayloadKeys.parse(text)


async def test_the_clients_converter_encrypts_pydantic_payloads_when_configured() -> None:
    change = ControlChange.model_validate(
        {"scope": "global", "paused": True, "actor": "ops", "reason": "size 12345.678"}
    )
    plain = load_settings()
    assert plain.temporal.payload_encryption is False  # paper default
    assert data_converter(plain).payload_codec is None
    settings = load_settings(temporal={"payload_encryption": True, "payload_keys": K1})
    conv = data_converter(settings)
    payloads = await conv.encode([change, Decimal("12345.678")])
    assert all(p.metadata["encoding"] == ENCODING for p in payloads)
    assert all(b"12345.678" not in p.data for p in payloads)
    back = await conv.decode(payloads, [ControlChange, Decimal])
    assert back == [change, Decimal("12345.678")]
