"""Where submissions are persisted: the database (``SqlSubmissionStore``) in every real run,
an in-memory store for pure unit tests.

Writes are compare-and-set on ``version``: two workers resuming the same key (a retried
activity whose first run is still alive) cannot both move it on, so only one build of an
attempt can ever be persisted as signed, and only a persisted signed transaction is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from basis.db import session_factory
from models.tables import SolanaSubmission, SolanaTransaction
from venues.solana.errors import ConcurrentSubmission
from venues.solana.submission import Submission, TxRecord


class SubmissionStore(Protocol):
    async def get(self, key: str) -> Submission | None: ...

    async def insert(self, sub: Submission) -> bool:
        """Store a new submission; False if the key already exists (someone else won)."""
        ...

    async def update(self, sub: Submission) -> Submission:
        """Write ``sub`` if the stored version is still ``sub.version``; return it with the
        new version. Raises ``ConcurrentSubmission`` otherwise."""
        ...


class MemorySubmissionStore:
    def __init__(self) -> None:
        self._rows: dict[str, Submission] = {}
        self._lock = asyncio.Lock()

    async def get(self, key: str) -> Submission | None:
        return self._rows.get(key)

    async def insert(self, sub: Submission) -> bool:
        async with self._lock:
            if sub.key in self._rows:
                return False
            self._rows[sub.key] = replace(sub, version=1)
            return True

    async def update(self, sub: Submission) -> Submission:
        async with self._lock:
            current = self._rows.get(sub.key)
            if current is None or current.version != sub.version:
                raise ConcurrentSubmission(f"{sub.key}: changed by another worker")
            stored = replace(sub, version=sub.version + 1)
            self._rows[sub.key] = stored
            return stored


class SqlSubmissionStore:
    """``solana_submissions`` plus one ``solana_transactions`` row per signed transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = session_factory(engine)

    async def get(self, key: str) -> Submission | None:
        async with self._sessions() as s:
            row = await s.get(SolanaSubmission, key)
            if row is None:
                return None
            txs = (
                await s.exec(
                    select(SolanaTransaction)
                    .where(SolanaTransaction.submission_key == key)
                    .order_by(col(SolanaTransaction.attempt), col(SolanaTransaction.idx))
                )
            ).all()
            return _to_domain(row, txs)

    async def insert(self, sub: Submission) -> bool:
        async with self._sessions() as s, s.begin():
            s.add(_row(sub, version=1))
            try:
                await s.flush()  # the submission row must exist before its transactions
            except IntegrityError:
                # Only the key can collide here; a signature collision below is a real error.
                await s.rollback()
                return False
            for t in sub.txs:
                s.add(_tx_row(sub, t))
        return True

    async def update(self, sub: Submission) -> Submission:
        async with self._sessions() as s, s.begin():
            result = await s.exec(
                update(SolanaSubmission)
                .where(col(SolanaSubmission.key) == sub.key)
                .where(col(SolanaSubmission.version) == sub.version)
                .values(
                    state=sub.state,
                    attempt=sub.attempt,
                    request=sub.request,
                    build=sub.build,
                    result=sub.result,
                    error=sub.error,
                    version=sub.version + 1,
                    updated_at=sub.updated_at,
                )
            )
            if result.rowcount != 1:
                raise ConcurrentSubmission(f"{sub.key}: changed by another worker")
            existing = {
                r.signature: r
                for r in (
                    await s.exec(
                        select(SolanaTransaction).where(SolanaTransaction.submission_key == sub.key)
                    )
                ).all()
            }
            for t in sub.txs:
                row = existing.get(t.signature)
                if row is None:
                    s.add(_tx_row(sub, t))
                elif (row.state, row.err, row.slot) != (t.state, t.err, t.slot):
                    row.state, row.err, row.slot = t.state, t.err, t.slot
                    row.updated_at = sub.updated_at
                    s.add(row)
        return replace(sub, version=sub.version + 1)


def _row(sub: Submission, *, version: int) -> SolanaSubmission:
    return SolanaSubmission(
        key=sub.key,
        kind=sub.kind,
        wallet=sub.wallet,
        state=sub.state,
        attempt=sub.attempt,
        request=sub.request,
        build=sub.build,
        result=sub.result,
        error=sub.error,
        version=version,
        created_at=sub.created_at,
        updated_at=sub.updated_at,
    )


def _tx_row(sub: Submission, t: TxRecord) -> SolanaTransaction:
    return SolanaTransaction(
        signature=t.signature,
        submission_key=sub.key,
        attempt=t.attempt,
        idx=t.index,
        signed_tx=t.signed_tx,
        last_valid_block_height=t.last_valid_block_height,
        state=t.state,
        err=t.err,
        slot=t.slot,
        created_at=sub.updated_at,
        updated_at=sub.updated_at,
    )


def _to_domain(row: SolanaSubmission, txs: Sequence[SolanaTransaction]) -> Submission:
    records = tuple(
        TxRecord(
            signature=t.signature,
            attempt=t.attempt,
            index=t.idx,
            signed_tx=t.signed_tx,
            last_valid_block_height=t.last_valid_block_height,
            state=t.state,
            err=t.err,
            slot=t.slot,
        )
        for t in txs
    )
    return Submission(
        key=row.key,
        kind=row.kind,
        wallet=row.wallet,
        state=row.state,
        attempt=row.attempt,
        request=dict(row.request),
        build=None if row.build is None else dict(row.build),
        result=None if row.result is None else dict(row.result),
        error=row.error,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        txs=records,
    )
