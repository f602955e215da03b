"""The Privy server-wallet provider against a local fake of Privy's API."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr
from solders.keypair import Keypair
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from basis.config import PrivySettings
from basis.db import session_factory
from models.tables import User, Wallet
from tests.wallets.fake_privy import FakePrivy
from venues.hyperliquid.signing import LocalSigner
from wallets.privy import (
    PrivyApi,
    PrivyError,
    PrivyWalletProvider,
    canonical_json,
    load_authorization_key,
)

ACTION = {"type": "order", "orders": [{"a": 5, "b": False, "p": "101.5", "s": "1.2", "r": False}]}


def _auth_key() -> tuple[ec.EllipticCurvePrivateKey, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key, "wallet-auth:" + base64.b64encode(der).decode()


def _settings(fake: FakePrivy, **over: Any) -> PrivySettings:
    return PrivySettings(
        app_id=fake.app_id,
        app_secret=SecretStr(over.pop("secret", fake.app_secret)),
        api_url=fake.base_url,
        **over,
    )


async def _user(engine: AsyncEngine) -> uuid.UUID:
    async with session_factory(engine)() as s, s.begin():
        u = User(email=f"{uuid.uuid4().hex}@x.io", created_at=datetime.now(UTC))
        s.add(u)
    return u.id


@pytest.fixture
def fake() -> FakePrivy:
    return FakePrivy()


@pytest.fixture
async def provider(fake: FakePrivy, db_engine: AsyncEngine) -> AsyncIterator[PrivyWalletProvider]:
    api = PrivyApi(_settings(fake), transport=httpx.ASGITransport(app=fake.app()), retry_delay=0)
    p = PrivyWalletProvider(session_factory(db_engine), api)
    yield p
    await p.aclose()


async def test_a_user_gets_one_privy_wallet_per_chain_even_under_concurrent_calls(
    provider: PrivyWalletProvider, fake: FakePrivy, db_engine: AsyncEngine
) -> None:
    uid = await _user(db_engine)
    results = await asyncio.gather(*(provider.ensure_wallets(uid) for _ in range(5)))
    assert len({(r.solana_address, r.evm_address) for r in results}) == 1
    assert sum(r.created for r in results) >= 1
    assert sorted(w.chain_type for w in fake.wallets.values()) == ["ethereum", "solana"]
    async with session_factory(db_engine)() as s:
        rows = (await s.exec(select(Wallet))).all()
    assert sorted((r.chain, r.provider) for r in rows) == [("evm", "privy"), ("solana", "privy")]
    # Privy holds the keys: nothing secret is stored here.
    assert all(r.encrypted_key is None and r.wrapped_data_key is None for r in rows)
    again = await provider.ensure_wallets(uid)
    assert not again.created
    assert len(fake.wallets) == 2


async def test_privy_signatures_are_the_wallet_keys_own(
    provider: PrivyWalletProvider, fake: FakePrivy, db_engine: AsyncEngine
) -> None:
    uid = await _user(db_engine)
    w = await provider.ensure_wallets(uid)
    evm = await provider.hyperliquid_signer(uid)
    assert evm.address == w.evm_address
    got = await evm.sign_l1_action(
        ACTION, nonce=1_700_000_000_000, vault_address=None, expires_after=None, is_mainnet=False
    )
    local = LocalSigner(fake.secret_of(w.evm_address))
    want = await local.sign_l1_action(
        ACTION, nonce=1_700_000_000_000, vault_address=None, expires_after=None, is_mainnet=False
    )
    assert got == want  # byte for byte what a local key would have signed
    sol = await provider.solana_signer(uid)
    message = b"an Asgard transaction message"
    signature = await sol.sign_message(message)
    assert signature.verify(sol.pubkey, message)
    assert signature == Keypair.from_bytes(fake.secret_of(w.solana_address)).sign_message(message)


async def test_a_signature_made_by_another_key_is_refused(
    provider: PrivyWalletProvider, fake: FakePrivy, db_engine: AsyncEngine
) -> None:
    uid = await _user(db_engine)
    await provider.ensure_wallets(uid)
    fake.impostor = True
    with pytest.raises(PrivyError, match="not made by"):
        await (await provider.solana_signer(uid)).sign_message(b"m")
    with pytest.raises(PrivyError, match="signed as"):
        await (await provider.hyperliquid_signer(uid)).sign_l1_action(
            ACTION, nonce=1, vault_address=None, expires_after=None, is_mainnet=False
        )


async def test_wallets_are_owned_by_the_authorization_key_and_every_request_is_signed(
    fake: FakePrivy, db_engine: AsyncEngine
) -> None:
    key, text = _auth_key()
    transport = httpx.ASGITransport(app=fake.app())
    api = PrivyApi(_settings(fake, authorization_key=SecretStr(text)), transport=transport)
    provider = PrivyWalletProvider(session_factory(db_engine), api)
    uid = await _user(db_engine)
    w = await provider.ensure_wallets(uid)
    assert all(x.owner is not None for x in fake.wallets.values())
    signature = await (await provider.solana_signer(uid)).sign_message(b"owned")
    assert signature.verify((await provider.solana_signer(uid)).pubkey, b"owned")
    await provider.aclose()

    # The app secret alone (another authorization key) cannot sign with these wallets.
    _, other = _auth_key()
    intruder = PrivyWalletProvider(
        session_factory(db_engine),
        PrivyApi(_settings(fake, authorization_key=SecretStr(other)), transport=transport),
    )
    with pytest.raises(PrivyError, match="401") as err:
        await (await intruder.solana_signer(uid)).sign_message(b"owned")
    assert not err.value.retryable
    await intruder.aclose()
    assert load_authorization_key(text).public_key().public_numbers() == (
        key.public_key().public_numbers()
    )
    assert w.evm_address.startswith("0x")


async def test_outages_are_retried_and_refusals_are_not(
    fake: FakePrivy, db_engine: AsyncEngine
) -> None:
    transport = httpx.ASGITransport(app=fake.app())
    api = PrivyApi(_settings(fake), transport=transport, retry_delay=0)
    provider = PrivyWalletProvider(session_factory(db_engine), api)
    fake.fail_next = [503, 429]
    w = await provider.ensure_wallets(await _user(db_engine))
    assert w.created
    fake.fail_next = [400]
    with pytest.raises(PrivyError) as err:
        await provider.ensure_wallets(await _user(db_engine))
    assert err.value.status == 400 and not err.value.retryable
    await provider.aclose()
    bad = PrivyApi(_settings(fake, secret="wrong-secret-0123456789"), transport=transport)
    with pytest.raises(PrivyError, match="401"):
        await bad.create_wallet("solana", idempotency_key="k-1")
    await bad.aclose()


def test_canonical_json_sorts_keys_drops_whitespace_and_refuses_floats() -> None:
    assert canonical_json({"b": [1, {"d": None, "c": True}], "a": "é"}) == (
        '{"a":"é","b":[1,{"c":true,"d":null}]}'.encode()
    )
    with pytest.raises(TypeError):
        canonical_json({"x": 1.5})
