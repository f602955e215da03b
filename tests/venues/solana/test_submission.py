"""The pure half of the submission state machine: verdicts on an attempt and legal moves."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.domain import SubmissionKind, SubmissionState, TxState
from venues.solana.rpc import SignatureStatus
from venues.solana.submission import InvalidTransition, Submission, TxRecord, assess_attempt

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _tx(sig: str, lvbh: int = 1_000, state: TxState = TxState.PENDING) -> TxRecord:
    return TxRecord(sig, 1, 0, "AA==", lvbh, state)


def _landed(sig: str, level: str = "confirmed", err: str | None = None) -> SignatureStatus:
    return SignatureStatus(sig, 900, level, err)  # type: ignore[arg-type]


def test_an_unseen_transaction_within_its_validity_is_pending_and_rebroadcast() -> None:
    v = assess_attempt([_tx("a")], {"a": None}, block_height=1_000)
    assert v.outcome == "pending"
    assert [t.signature for t in v.rebroadcast] == ["a"]


def test_an_unseen_transaction_past_its_last_valid_height_is_expired() -> None:
    v = assess_attempt([_tx("a")], {"a": None}, block_height=1_001)
    assert v.outcome == "expired"
    assert v.txs[0].state is TxState.EXPIRED
    assert v.rebroadcast == ()


def test_a_transaction_that_landed_with_an_error_fails_the_attempt() -> None:
    err = '{"InstructionError":[3,{"Custom":6001}]}'
    v = assess_attempt([_tx("a")], {"a": _landed("a", err=err)}, block_height=2_000)
    assert v.outcome == "failed"
    assert v.error == err


def test_a_landing_below_the_wanted_commitment_is_waited_for_not_resent() -> None:
    v = assess_attempt([_tx("a")], {"a": _landed("a", "processed")}, block_height=990)
    assert v.outcome == "pending"
    assert v.rebroadcast == ()


def test_an_attempt_confirms_only_when_every_transaction_landed() -> None:
    txs = [_tx("a"), TxRecord("b", 1, 1, "AA==", 1_000)]
    half = assess_attempt(txs, {"a": _landed("a"), "b": None}, block_height=999)
    assert half.outcome == "pending"
    full = assess_attempt(txs, {"a": _landed("a"), "b": _landed("b")}, block_height=999)
    assert full.outcome == "confirmed"


def test_some_landed_and_the_rest_expired_ends_the_attempt_with_the_landings_recorded() -> None:
    txs = [_tx("a"), TxRecord("b", 1, 1, "AA==", 1_000)]
    v = assess_attempt(txs, {"a": _landed("a"), "b": None}, block_height=1_001)
    assert v.outcome == "expired"
    assert [t.state for t in v.txs] == [TxState.LANDED, TxState.EXPIRED]


def _sub(state: SubmissionState) -> Submission:
    return Submission("k", SubmissionKind.OPEN, "w", state, 1, {}, NOW, NOW)


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (SubmissionState.SUBMITTED, SubmissionState.BUILT),  # re-sign while it may land
        (SubmissionState.SIGNED, SubmissionState.BUILT),
        (SubmissionState.BUILT, SubmissionState.SUBMITTED),  # send what was never persisted
        (SubmissionState.FINALIZED, SubmissionState.BUILT),
        (SubmissionState.CONFIRMED, SubmissionState.BUILT),
    ],
)
def test_moves_that_could_double_an_action_are_forbidden(
    start: SubmissionState, to: SubmissionState
) -> None:
    with pytest.raises(InvalidTransition):
        _sub(start).moved(to, NOW)


@pytest.mark.parametrize("start", [SubmissionState.EXPIRED, SubmissionState.FAILED_ONCHAIN])
def test_only_a_provably_finished_attempt_may_be_rebuilt(start: SubmissionState) -> None:
    assert _sub(start).moved(SubmissionState.BUILT, NOW).state is SubmissionState.BUILT
