"""The submission state machine's driver: build -> sign -> persist -> send -> reconcile, and
resume from whatever was persisted.

Given an idempotency key and an ``Operation`` (how to build, submit and read the result of
one action), ``SubmissionDriver.run`` does exactly one of:

- returns the recorded result (the key already succeeded);
- resumes an attempt in flight: looks its signatures up, rebroadcasts the very same bytes
  while they may still land, and waits until every one is terminal;
- starts a new attempt, but only when the previous one is provably over (every transaction
  landed, failed on chain, or expired: block height past its last valid height).

Invariants (each has a test):
1. A signed transaction is persisted (bytes, signature, last valid height) before it is sent.
2. Nothing is re-signed while an earlier signature of the key may still land.
3. A transaction that cannot be found is dead only if the block height (read *before* the
   status) passed its last valid height. The last valid height is the later of the API's and
   our own bound (block height seen after the build + validity + margin), so neither a wrong
   API value nor a lagging RPC node can make us declare a live transaction dead.
4. Writes are compare-and-set: two workers on one key cannot both start an attempt.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from solders.transaction import VersionedTransaction

from basis.clock import Clock, utc_now
from models.domain import SubmissionKind, SubmissionState, TxState
from venues.solana.errors import (
    AttemptsExhausted,
    ConcurrentSubmission,
    RpcUnavailable,
    SubmissionAnomaly,
    SubmissionConflict,
    SubmissionPending,
    TransactionFailedOnChain,
)
from venues.solana.rpc import Commitment, SolanaRpc
from venues.solana.signer import TransactionSigner
from venues.solana.store import SubmissionStore
from venues.solana.submission import Submission, TxRecord, assess_attempt

_S = SubmissionState
log = logging.getLogger("basis.venues.solana")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class SubmitPolicy:
    confirm_commitment: Commitment = "confirmed"
    """When an attempt counts as landed."""
    expiry_commitment: Commitment = "finalized"
    """Whose block height decides that a transaction can no longer land."""
    blockhash_validity: int = 150
    expiry_margin_blocks: int = 50
    poll_interval_s: float = 1.0
    rebroadcast_interval_s: float = 2.0
    max_wait_s: float = 120.0
    """Per call; past it a pending submission raises ``SubmissionPending`` (retryable)."""
    max_attempts_per_call: int = 3
    """Builds per call after expiries; past it ``AttemptsExhausted`` (retryable)."""
    build_lease_s: float = 15.0
    """A fresh BUILT attempt belongs to the worker that built it for this long; another
    worker waits instead of rebuilding (a crashed builder's attempt is rebuilt after it)."""


@dataclass(frozen=True, slots=True)
class Build:
    transactions: tuple[str, ...]
    """Base64 unsigned transactions from the API, in the order they must land."""
    last_valid_block_height: int | None
    body: dict[str, Any] = field(default_factory=dict)
    """What the API said about the build, kept with the attempt."""


class Operation(Protocol):
    """One action on a venue, as the driver needs to see it."""

    kind: SubmissionKind
    request: dict[str, Any]
    """The caller's parameters: a key reused with other parameters is refused."""

    async def precheck(self, sub: Submission | None) -> dict[str, Any] | None:
        """A result that makes building unnecessary (e.g. the position is already closed)."""
        ...

    async def build(self) -> Build: ...

    async def submit(self, build: Build, signed: Sequence[str]) -> dict[str, Any] | None:
        """Hand the signed transactions to the venue. Any exception is treated as "may have
        been sent"; a returned value is passed to ``finish`` as a hint."""
        ...

    async def finish(self, sub: Submission, hint: dict[str, Any] | None) -> dict[str, Any]:
        """The result once every transaction of the attempt landed."""
        ...


@dataclass
class _Run:
    """What one call of ``run`` remembers between steps (nothing here is persisted)."""

    started: datetime
    builds: int = 0
    hint: dict[str, Any] | None = None
    just_failed: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    submission: Submission | None
    result: dict[str, Any]


class SubmissionDriver:
    def __init__(
        self,
        rpc: SolanaRpc,
        signer: TransactionSigner,
        store: SubmissionStore,
        *,
        policy: SubmitPolicy | None = None,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        on_progress: Callable[[str], None] | None = None,
    ) -> None:
        self.rpc = rpc
        self.signer = signer
        self.store = store
        self.policy = policy or SubmitPolicy()
        self.clock = clock
        self.sleep = sleep
        self._on_progress = on_progress

    async def run(self, key: str, op: Operation) -> Outcome:
        run = _Run(started=self.clock())
        sub = await self._load(key, op)
        conflicts = 0
        while True:
            try:
                step = await self._step(key, op, sub, run)
            except ConcurrentSubmission:
                # Another worker moved the key on: continue from what it persisted.
                conflicts += 1
                if conflicts > 20:
                    raise
                sub = await self._load(key, op)
                continue
            if isinstance(step, Outcome):
                return step
            sub = step

    async def _step(
        self, key: str, op: Operation, sub: Submission | None, run: _Run
    ) -> Submission | Outcome:
        """One move of the machine: the next persisted state, or the final outcome."""
        if sub is not None and sub.state.succeeded and sub.result is not None:
            return Outcome(await self._maybe_finalize(sub), sub.result)
        if sub is not None and sub.state is _S.CONFIRMED:
            return await self._finish(sub, op, run.hint)
        if sub is not None and sub.state is _S.FAILED_ONCHAIN and run.just_failed:
            raise TransactionFailedOnChain(key, sub.error or "unknown error")
        if sub is not None and sub.state is _S.BUILT and self._leased(sub):
            # Another worker built this attempt moments ago and is signing it: let it
            # finish rather than rebuild under it (both would be safe, but would ping-pong).
            self._check_deadline(key, run.started)
            await self.sleep(self.policy.poll_interval_s)
            return await self._load(key, op) or sub
        if sub is None or sub.state is _S.BUILT or sub.state.attempt_over:
            if sub is not None and sub.state.attempt_over:
                await self._check_dead_stay_dead(sub)
            done = await op.precheck(sub)
            if done is not None:
                # Another worker may have acted under this key since we read it (and caused
                # what precheck saw): report its submission, not a no-op.
                latest = await self.store.get(key)
                if (latest.version if latest else 0) != (sub.version if sub else 0):
                    raise ConcurrentSubmission(f"{key}: moved on while we checked")
                return Outcome(sub, done)
            if run.builds >= self.policy.max_attempts_per_call:
                raise AttemptsExhausted(f"{key}: {run.builds} builds expired without landing")
            run.builds += 1
            sub, run.hint = await self._attempt(key, op, sub)
            return sub
        # SIGNED or SUBMITTED: an attempt is in flight.
        self._check_deadline(key, run.started)
        try:
            sub, run.just_failed = await self._reconcile(sub)
        except RpcUnavailable as exc:
            # Nothing is decided without the chain's answer: wait and ask again.
            self.on_progress(f"{key}: RPC unavailable ({exc}); retrying")
        if sub.state in (_S.SIGNED, _S.SUBMITTED):
            await self.sleep(self.policy.poll_interval_s)
        return sub

    # ---- one attempt ---------------------------------------------------------------------

    async def _attempt(
        self, key: str, op: Operation, sub: Submission | None
    ) -> tuple[Submission, dict[str, Any] | None]:
        build = await op.build()
        seen = await self.rpc.block_height("processed")
        bound = seen + self.policy.blockhash_validity + self.policy.expiry_margin_blocks
        lvbh = max(build.last_valid_block_height or 0, bound)
        now = self.clock()
        if sub is None:
            attempt = 1
            sub = Submission(
                key=key,
                kind=op.kind,
                wallet=str(self.signer.pubkey),
                state=_S.BUILT,
                attempt=1,
                request=op.request,
                created_at=now,
                updated_at=now,
                build=build.body,
            )
            if not await self.store.insert(sub):
                raise ConcurrentSubmission(f"{key}: created by another worker")
            sub = replace(sub, version=1)
        else:
            attempt = sub.attempt if sub.state is _S.BUILT else sub.attempt + 1
            sub = await self._save(
                sub.moved(_S.BUILT, now, attempt=attempt, build=build.body, error=None)
            )
        self.on_progress(f"{key}: attempt {attempt} built ({len(build.transactions)} tx)")
        signed: list[str] = []
        records: list[TxRecord] = []
        for i, raw in enumerate(build.transactions):
            tx = await self.signer.sign(VersionedTransaction.from_bytes(base64.b64decode(raw)))
            wire = base64.b64encode(bytes(tx)).decode()
            signed.append(wire)
            records.append(TxRecord(str(tx.signatures[0]), attempt, i, wire, lvbh))
        # Invariant 1: persisted before anything is sent.
        sub = await self._save(sub.moved(_S.SIGNED, self.clock()).with_txs(records))
        hint: dict[str, Any] | None = None
        error: str | None = None
        try:
            hint = await op.submit(build, signed)
        except Exception as exc:  # every failure here is ambiguous: reconcile by signature
            error = f"submit: {type(exc).__name__}: {exc}"[:2000]
        self.on_progress(f"{key}: attempt {attempt} submitted ({error or 'ok'})")
        sub = await self._save(sub.moved(_S.SUBMITTED, self.clock(), error=error))
        return sub, hint

    async def _reconcile(self, sub: Submission) -> tuple[Submission, bool]:
        current = sub.current_txs
        height = await self.rpc.block_height(self.policy.expiry_commitment)  # before statuses
        statuses = await self.rpc.signature_statuses([t.signature for t in current])
        by_sig = {t.signature: s for t, s in zip(current, statuses, strict=True)}
        verdict = assess_attempt(current, by_sig, height, self.policy.confirm_commitment)
        now = self.clock()
        if verdict.outcome == "confirmed":
            return await self._save(sub.moved(_S.CONFIRMED, now).with_txs(verdict.txs)), False
        if verdict.outcome == "failed":
            moved = sub.moved(_S.FAILED_ONCHAIN, now, error=verdict.error).with_txs(verdict.txs)
            return await self._save(moved), True
        if verdict.outcome == "expired":
            return await self._save(sub.moved(_S.EXPIRED, now).with_txs(verdict.txs)), False
        self.on_progress(f"{sub.key}: waiting (height {height}, {len(verdict.rebroadcast)} unseen)")
        if verdict.rebroadcast and self._rebroadcast_due(sub):
            for tx in verdict.rebroadcast:
                outcome = await self.rpc.send_raw(base64.b64decode(tx.signed_tx))
                # "already processed" means it landed: the next status read will show it.
                # Any other refusal proves nothing about the copy already in flight.
                self.on_progress(f"{sub.key}: rebroadcast {tx.signature[:8]}: {outcome.kind}")
            moved = sub.moved(_S.SUBMITTED, self.clock()).with_txs(verdict.txs)
            sub = await self._save(moved)
        return sub, False

    async def _save(self, sub: Submission) -> Submission:
        """Persist (compare-and-set) and log the move."""
        saved = await self.store.update(sub)
        log.info(
            "solana submission %s: %s (attempt %d)",
            sub.key,
            sub.state.value,
            sub.attempt,
            extra={
                "submission_key": sub.key,
                "state": sub.state.value,
                "attempt": sub.attempt,
                "signatures": [t.signature for t in sub.current_txs],
            },
        )
        return saved

    def _leased(self, sub: Submission) -> bool:
        return (self.clock() - sub.updated_at).total_seconds() < self.policy.build_lease_s

    def _rebroadcast_due(self, sub: Submission) -> bool:
        elapsed = (self.clock() - sub.updated_at).total_seconds()
        return elapsed >= self.policy.rebroadcast_interval_s or sub.state is _S.SIGNED

    async def _finish(self, sub: Submission, op: Operation, hint: dict[str, Any] | None) -> Outcome:
        result = await op.finish(sub, hint)
        sub = await self._save(replace(sub, result=result, updated_at=self.clock()))
        return Outcome(await self._maybe_finalize(sub), result)

    async def _maybe_finalize(self, sub: Submission) -> Submission:
        if sub.state is not _S.CONFIRMED:
            return sub
        statuses = await self.rpc.signature_statuses([t.signature for t in sub.current_txs])
        if statuses and all(s is not None and s.reached("finalized") for s in statuses):
            try:
                return await self._save(sub.moved(_S.FINALIZED, self.clock()))
            except ConcurrentSubmission:
                return sub
        return sub

    async def _check_dead_stay_dead(self, sub: Submission) -> None:
        """Before a new attempt: every transaction we declared expired must still be
        unknown to the chain. Anything else means the dead-ness proof failed, and building
        again could double the action."""
        dead = [t for t in sub.txs if t.state is TxState.EXPIRED]
        if not dead:
            return
        statuses = await self.rpc.signature_statuses([t.signature for t in dead])
        risen = [t.signature for t, s in zip(dead, statuses, strict=True) if s is not None]
        if risen:
            raise SubmissionAnomaly(f"{sub.key}: transactions declared expired landed: {risen}")

    # ---- plumbing ------------------------------------------------------------------------

    async def _load(self, key: str, op: Operation) -> Submission | None:
        sub = await self.store.get(key)
        if sub is None:
            return None
        if sub.kind is not op.kind or sub.request != op.request:
            raise SubmissionConflict(
                f"{key}: already used for {sub.kind} {sub.request}, now {op.kind} {op.request}"
            )
        if sub.wallet != str(self.signer.pubkey):
            raise SubmissionConflict(f"{key}: belongs to wallet {sub.wallet}")
        return sub

    def on_progress(self, message: str) -> None:
        """Progress for operators (debug log) and for the caller (an activity heartbeat)."""
        log.debug(message)
        if self._on_progress is not None:
            self._on_progress(message)

    def _check_deadline(self, key: str, started: datetime) -> None:
        if (self.clock() - started).total_seconds() > self.policy.max_wait_s:
            raise SubmissionPending(key, "transactions sent, neither landed nor expired yet")
