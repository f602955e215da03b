"""The local keystore: keys exist only encrypted, bound to their owner, recoverable only
with the server secret."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from basis.db import session_factory
from models.tables import User, Wallet
from wallets.envelope import KeyDecryptionError
from wallets.keystore import LocalKeystore

SECRET = "a-server-secret-of-sufficient-length-0123456789"


async def _user(engine: AsyncEngine) -> uuid.UUID:
    async with session_factory(engine)() as s, s.begin():
        u = User(email=f"{uuid.uuid4().hex}@x.io", created_at=datetime.now(UTC))
        s.add(u)
    return u.id


async def test_a_user_gets_one_solana_and_one_evm_wallet_even_under_concurrent_calls(
    db_engine: AsyncEngine,
) -> None:
    ks = LocalKeystore(session_factory(db_engine), SECRET)
    uid = await _user(db_engine)
    results = await asyncio.gather(*(ks.ensure_wallets(uid) for _ in range(5)))
    assert len({(r.solana_address, r.evm_address) for r in results}) == 1
    async with session_factory(db_engine)() as s:
        rows = (await s.exec(select(Wallet))).all()
    assert sorted(r.chain for r in rows) == ["evm", "solana"]


async def test_the_decrypted_keys_match_the_stored_addresses(db_engine: AsyncEngine) -> None:
    ks = LocalKeystore(session_factory(db_engine), SECRET)
    uid = await _user(db_engine)
    w = await ks.ensure_wallets(uid)
    assert str((await ks.solana_keypair(uid)).pubkey()) == w.solana_address
    assert (await ks.evm_account(uid)).address == w.evm_address


async def test_no_key_material_is_stored_in_plaintext(db_engine: AsyncEngine) -> None:
    ks = LocalKeystore(session_factory(db_engine), SECRET)
    uid = await _user(db_engine)
    await ks.ensure_wallets(uid)
    sol = bytes(await ks.solana_keypair(uid))
    evm = bytes((await ks.evm_account(uid)).key)
    async with db_engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM wallets"))).all()
    dump = b"".join(v if isinstance(v, bytes) else str(v).encode() for row in rows for v in row)
    for secret in (sol, sol[:32], evm, evm.hex().encode(), sol.hex().encode()):
        assert secret not in dump


async def test_a_different_server_secret_cannot_decrypt_the_keys(db_engine: AsyncEngine) -> None:
    uid = await _user(db_engine)
    await LocalKeystore(session_factory(db_engine), SECRET).ensure_wallets(uid)
    other = LocalKeystore(session_factory(db_engine), "another-secret-entirely-0123456789")
    with pytest.raises(KeyDecryptionError):
        await other.evm_account(uid)


async def test_a_key_copied_onto_another_users_row_does_not_decrypt(
    db_engine: AsyncEngine,
) -> None:
    ks = LocalKeystore(session_factory(db_engine), SECRET)
    alice, mallory = await _user(db_engine), await _user(db_engine)
    await ks.ensure_wallets(alice)
    await ks.ensure_wallets(mallory)
    async with session_factory(db_engine)() as s, s.begin():
        a = (
            await s.exec(select(Wallet).where(Wallet.user_id == alice, Wallet.chain == "evm"))
        ).one()
        m = (
            await s.exec(select(Wallet).where(Wallet.user_id == mallory, Wallet.chain == "evm"))
        ).one()
        m.encrypted_key, m.wrapped_data_key = a.encrypted_key, a.wrapped_data_key
        s.add(m)
    with pytest.raises(KeyDecryptionError):
        await ks.evm_account(mallory)
