"""The submission store on SQLite and Postgres: round trips, compare-and-set, uniqueness."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from models.domain import SubmissionKind, SubmissionState, TxState
from venues.solana import ConcurrentSubmission, MemorySubmissionStore, SqlSubmissionStore
from venues.solana.submission import Submission, TxRecord

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def _sub(key: str = "open:1") -> Submission:
    return Submission(
        key=key,
        kind=SubmissionKind.OPEN,
        wallet="Wallet1111",
        state=SubmissionState.BUILT,
        attempt=1,
        request={"asset": "jitoSOL", "leverage": "3"},
        created_at=NOW,
        updated_at=NOW,
        build={"positionPda": "Pda111"},
    )


async def test_a_signed_submission_round_trips_with_its_transactions(
    store: SqlSubmissionStore,
) -> None:
    assert await store.insert(_sub())
    loaded = await store.get("open:1")
    assert loaded is not None and loaded.version == 1
    tx = TxRecord("sig-1", 1, 0, "AQID", 300_000_150)
    signed = await store.update(loaded.moved(SubmissionState.SIGNED, NOW).with_txs([tx]))
    again = await store.get("open:1")
    assert again == signed
    assert again.txs == (tx,)
    assert again.current_txs[0].last_valid_block_height == 300_000_150


async def test_a_second_insert_of_a_key_loses(store: SqlSubmissionStore) -> None:
    assert await store.insert(_sub())
    assert not await store.insert(_sub())


async def test_a_write_based_on_a_stale_read_is_refused(store: SqlSubmissionStore) -> None:
    await store.insert(_sub())
    a = await store.get("open:1")
    b = await store.get("open:1")
    assert a is not None and b is not None
    await store.update(a.moved(SubmissionState.SIGNED, NOW))
    with pytest.raises(ConcurrentSubmission) as exc:
        await store.update(b.moved(SubmissionState.SIGNED, NOW))
    assert exc.value.retryable


async def test_one_signature_can_never_belong_to_two_submissions(
    store: SqlSubmissionStore,
) -> None:
    tx = TxRecord("sig-shared", 1, 0, "AQID", 10)
    await store.insert(replace(_sub("open:1"), txs=(tx,)))
    with pytest.raises(IntegrityError):
        await store.insert(replace(_sub("open:2"), txs=(tx,)))


async def test_transaction_state_changes_are_persisted(store: SqlSubmissionStore) -> None:
    tx = TxRecord("sig-1", 1, 0, "AQID", 10)
    await store.insert(replace(_sub(), state=SubmissionState.SIGNED, txs=(tx,)))
    loaded = await store.get("open:1")
    assert loaded is not None
    landed = replace(tx, state=TxState.LANDED, slot=7)
    await store.update(loaded.moved(SubmissionState.CONFIRMED, NOW).with_txs([landed]))
    final = await store.get("open:1")
    assert final is not None and final.txs[0].state is TxState.LANDED and final.txs[0].slot == 7


async def test_the_memory_store_enforces_the_same_compare_and_set() -> None:
    mem = MemorySubmissionStore()
    await mem.insert(_sub())
    a = await mem.get("open:1")
    assert a is not None
    await mem.update(a.moved(SubmissionState.SIGNED, NOW))
    with pytest.raises(ConcurrentSubmission):
        await mem.update(a.moved(SubmissionState.SIGNED, NOW))
