"""Wallet keys apart from everything else: the API (public KEK only) creates wallets it cannot
decrypt; the worker (private KEKs) signs; ``basis keys rotate`` re-wraps every data key under
a new KEK while both are held, and after a restart with only the new KEK every wallet signs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eth_account.messages import encode_defunct
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from basis.db import create_engine, session_factory
from models.tables import User, Wallet
from wallets.envelope import KekRing, KekUnavailableError, KeyDecryptionError, new_kek
from wallets.keystore import LocalKeystore

V2_PRIVATE, V2_PUBLIC = new_kek(2)
V3_PRIVATE, V3_PUBLIC = new_kek(3)
LEGACY_SECRET = "a-server-secret-of-sufficient-length-0123456789"


async def _user(engine: AsyncEngine) -> uuid.UUID:
    async with session_factory(engine)() as s, s.begin():
        u = User(email=f"{uuid.uuid4().hex}@x.io", created_at=datetime.now(UTC))
        s.add(u)
    return u.id


async def _signs(ks: LocalKeystore, uid: uuid.UUID, sol: str, evm: str) -> None:
    kp = await ks.solana_keypair(uid)
    assert str(kp.pubkey()) == sol
    assert kp.sign_message(b"m").verify(kp.pubkey(), b"m")
    acct = await ks.evm_account(uid)
    signed = acct.sign_message(encode_defunct(text="m"))
    assert acct.address == evm and signed.signature


async def test_the_api_creates_wallets_it_cannot_decrypt_and_the_worker_signs_them(
    db_engine: AsyncEngine,
) -> None:
    sessions = session_factory(db_engine)
    api = LocalKeystore(sessions, KekRing.parse(public_line=V2_PUBLIC))
    worker = LocalKeystore(sessions, KekRing.parse(V2_PRIVATE))
    uid = await _user(db_engine)
    w = await api.ensure_wallets(uid)
    with pytest.raises(KekUnavailableError, match="holds only the public key"):
        await api.evm_account(uid)
    with pytest.raises(KekUnavailableError):
        await api.solana_keypair(uid)
    await _signs(worker, uid, w.solana_address, w.evm_address)
    async with sessions() as s:
        rows = (await s.exec(select(Wallet).where(Wallet.user_id == uid))).all()
    assert {r.key_version for r in rows} == {2}


async def test_a_wrapped_key_relabelled_with_another_version_does_not_decrypt(
    db_engine: AsyncEngine,
) -> None:
    sessions = session_factory(db_engine)
    uid = await _user(db_engine)
    await LocalKeystore(sessions, KekRing.parse(V2_PRIVATE)).ensure_wallets(uid)
    both = KekRing.parse(f"{V2_PRIVATE}\n{V3_PRIVATE}")
    async with sessions() as s, s.begin():
        for row in (await s.exec(select(Wallet).where(Wallet.user_id == uid))).all():
            row.key_version = 3
            s.add(row)
    with pytest.raises(KeyDecryptionError):
        await LocalKeystore(sessions, both).evm_account(uid)


async def test_rotate_rewraps_every_key_while_signing_goes_on_then_the_old_kek_can_go(
    db_engine: AsyncEngine,
) -> None:
    sessions = session_factory(db_engine)
    before = LocalKeystore(sessions, KekRing.parse(V2_PRIVATE))
    users = [await _user(db_engine) for _ in range(6)]
    made = {u: await before.ensure_wallets(u) for u in users}
    # Wallets made under the legacy derived key (before the split) are re-wrapped too.
    legacy_user = await _user(db_engine)
    made[legacy_user] = await LocalKeystore(sessions, LEGACY_SECRET).ensure_wallets(legacy_user)

    during = LocalKeystore(
        sessions, KekRing.parse(f"{V2_PRIVATE}\n{V3_PRIVATE}", legacy_secret=LEGACY_SECRET)
    )
    assert await during.key_versions() == {1: 2, 2: 12}

    async def keep_signing() -> int:
        n = 0
        for _ in range(3):
            for u, w in made.items():
                await _signs(during, u, w.solana_address, w.evm_address)
                n += 1
            await asyncio.sleep(0)
        return n

    signed, report = await asyncio.gather(keep_signing(), during.rotate(batch=4))
    assert signed == 3 * len(made)
    assert (report.version, report.rewrapped, report.remaining) == (3, 14, {})
    assert await during.key_versions() == {3: 14}
    again = await during.rotate()
    assert (again.rewrapped, again.already_current) == (0, 14)

    # "Restart": a worker holding only the new KEK signs for everyone...
    after = LocalKeystore(sessions, KekRing.parse(V3_PRIVATE))
    for u, w in made.items():
        await _signs(after, u, w.solana_address, w.evm_address)
    # ...and the retired KEK opens nothing any more.
    old = LocalKeystore(sessions, KekRing.parse(V2_PRIVATE))
    with pytest.raises(KekUnavailableError, match="version 3"):
        await old.evm_account(users[0])


def _basis(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).with_name("basis")
    return subprocess.run(
        [str(cli), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def test_basis_keys_rotate_then_a_restarted_worker_signs_with_only_the_new_kek(
    sqlite_url: str, tmp_path: Path
) -> None:
    engine = create_engine(sqlite_url)
    sessions = session_factory(engine)
    uid = await _user(engine)
    w = await LocalKeystore(sessions, KekRing.parse(V2_PRIVATE)).ensure_wallets(uid)
    await engine.dispose()

    env = {k: v for k, v in os.environ.items() if not k.startswith("BASIS_")}
    env |= {"BASIS_DATABASE_URL": sqlite_url, "BASIS_STATE_DIR": str(tmp_path)}
    env["BASIS_WALLET_KEKS"] = f"{V2_PRIVATE}\n{V3_PRIVATE}"
    rotated = _basis(env, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert "KEK v3: re-wrapped 2" in rotated.stdout
    status = _basis(env, "keys", "status")
    assert status.returncode == 0, status.stderr
    assert status.stdout.strip() == '{"3": 2}'
    # Without the old KEK an unfinished rotation says what to do, and nothing changes.
    env["BASIS_WALLET_KEKS"] = V2_PRIVATE
    back = _basis(env, "keys", "rotate")
    assert back.returncode != 0
    assert "version 3" in back.stderr

    engine = create_engine(sqlite_url)
    restarted = LocalKeystore(session_factory(engine), KekRing.parse(V3_PRIVATE))
    await _signs(restarted, uid, w.solana_address, w.evm_address)
    await engine.dispose()


def test_the_worker_reads_the_legacy_key_only_when_a_server_secret_is_really_set() -> None:
    from basis.config import load_settings
    from wallets.factory import kek_ring

    worker = load_settings(wallet_keks=V2_PRIVATE, server_secret="")
    assert set(kek_ring(worker).keks) == {2}
    upgraded = load_settings(wallet_keks=V2_PRIVATE, server_secret=LEGACY_SECRET)
    assert set(kek_ring(upgraded).keks) == {1, 2}
    api = load_settings(wallet_kek_public=V2_PUBLIC, server_secret=LEGACY_SECRET)
    ring = kek_ring(api)
    assert set(ring.keks) == {2} and not ring.current.can_unwrap
    assert set(kek_ring(load_settings()).keks) == {1}  # paper, nothing configured
