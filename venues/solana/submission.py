"""The submission state machine's pure half: records, legal transitions, and the verdict on
one attempt given what the chain says.

```
 BUILT --sign+persist--> SIGNED --send--> SUBMITTED --all landed--> CONFIRMED --rooted--> FINALIZED
   ^                        |                 |
   |                        +-----------------+--one landed with an error--> FAILED_ONCHAIN --+
   |                                          +--none can land any more----> EXPIRED ---------+
   +----------------------------- next attempt (build and sign afresh) -----------------------+
```

The one rule everything else serves: a new attempt is built only when every transaction of
the current one is *terminal* - landed, landed with an error, or provably dead because the
block height passed its last valid block height. A transaction that is merely not found may
still land, so it is rebroadcast (the same bytes, the same signature) and waited for, never
replaced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from models.domain import SubmissionKind, SubmissionState, TxState
from venues.solana.rpc import Commitment, SignatureStatus

_S = SubmissionState
ALLOWED: dict[SubmissionState, frozenset[SubmissionState]] = {
    # BUILT -> BUILT discards an unsigned build: nothing signed can have been sent.
    _S.BUILT: frozenset({_S.BUILT, _S.SIGNED}),
    # SIGNED may already be on chain (a crash right after sending), so it resolves like
    # SUBMITTED.
    _S.SIGNED: frozenset({_S.SUBMITTED, _S.CONFIRMED, _S.FAILED_ONCHAIN, _S.EXPIRED}),
    _S.SUBMITTED: frozenset({_S.SUBMITTED, _S.CONFIRMED, _S.FAILED_ONCHAIN, _S.EXPIRED}),
    _S.CONFIRMED: frozenset({_S.FINALIZED}),
    _S.FAILED_ONCHAIN: frozenset({_S.BUILT}),
    _S.EXPIRED: frozenset({_S.BUILT}),
    _S.FINALIZED: frozenset(),
}


class InvalidTransition(RuntimeError):
    """A bug: the driver tried a move the state machine forbids."""


@dataclass(frozen=True, slots=True)
class TxRecord:
    signature: str
    attempt: int
    index: int
    signed_tx: str
    """Base64 wire bytes."""
    last_valid_block_height: int
    state: TxState = TxState.PENDING
    err: str | None = None
    slot: int | None = None


@dataclass(frozen=True, slots=True)
class Submission:
    key: str
    kind: SubmissionKind
    wallet: str
    state: SubmissionState
    attempt: int
    request: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    build: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    version: int = 0
    txs: tuple[TxRecord, ...] = field(default_factory=tuple)

    @property
    def current_txs(self) -> tuple[TxRecord, ...]:
        return tuple(t for t in self.txs if t.attempt == self.attempt)

    @property
    def signatures(self) -> tuple[str, ...]:
        """Every signature ever signed for this key, all attempts."""
        return tuple(t.signature for t in self.txs)

    def moved(self, to: SubmissionState, now: datetime, **changes: Any) -> Submission:
        """This submission in state ``to``; raises ``InvalidTransition`` if not allowed."""
        if to not in ALLOWED[self.state]:
            raise InvalidTransition(f"{self.key}: {self.state} -> {to} is not allowed")
        return replace(self, state=to, updated_at=now, **changes)

    def with_txs(self, txs: Sequence[TxRecord]) -> Submission:
        """Replace the records of the signatures in ``txs``, append the new ones."""
        by_sig = {t.signature: t for t in txs}
        kept = [by_sig.pop(t.signature, t) for t in self.txs]
        return replace(self, txs=(*kept, *by_sig.values()))


Outcome = Literal["confirmed", "failed", "expired", "pending"]


@dataclass(frozen=True, slots=True)
class AttemptVerdict:
    outcome: Outcome
    txs: tuple[TxRecord, ...]
    """The attempt's records updated with what the chain said."""
    rebroadcast: tuple[TxRecord, ...]
    """Not seen yet and still valid: send the same bytes again."""

    @property
    def error(self) -> str | None:
        return next((t.err for t in self.txs if t.state is TxState.FAILED), None)


def assess_attempt(
    txs: Sequence[TxRecord],
    statuses: Mapping[str, SignatureStatus | None],
    block_height: int,
    commitment: Commitment = "confirmed",
) -> AttemptVerdict:
    """Judge one attempt.

    ``block_height`` must have been read *before* ``statuses``: a transaction is declared
    dead only if the chain had already passed its last valid height when we then failed to
    find it, so it cannot have landed in between.
    """
    updated: list[TxRecord] = []
    again: list[TxRecord] = []
    for tx in txs:
        st = statuses.get(tx.signature)
        if tx.state is TxState.EXPIRED and st is None:
            updated.append(tx)
        elif st is not None and st.err is not None:
            updated.append(replace(tx, state=TxState.FAILED, err=st.err, slot=st.slot))
        elif st is not None and st.reached(commitment):
            updated.append(replace(tx, state=TxState.LANDED, err=None, slot=st.slot))
        elif st is not None:
            # Landed but below our commitment: wait, and do not resend a landed transaction.
            updated.append(replace(tx, state=TxState.PENDING, slot=st.slot))
        elif block_height > tx.last_valid_block_height:
            updated.append(replace(tx, state=TxState.EXPIRED))
        else:
            updated.append(replace(tx, state=TxState.PENDING))
            again.append(tx)
    states = [t.state for t in updated]
    outcome: Outcome
    if any(s is TxState.PENDING for s in states):
        outcome = "pending"
    elif all(s is TxState.LANDED for s in states):
        outcome = "confirmed"
    elif any(s is TxState.FAILED for s in states):
        outcome = "failed"
    else:
        outcome = "expired"
    return AttemptVerdict(outcome, tuple(updated), tuple(again))
