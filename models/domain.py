"""Domain nouns shared by every layer."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Asset(StrEnum):
    """The long leg's collateral. The short leg is always the SOL perpetual."""

    SOL = "SOL"
    JITOSOL = "jitoSOL"
    JUPSOL = "jupSOL"
    INF = "INF"

    @property
    def is_lst(self) -> bool:
        return self is not Asset.SOL


class Protocol(IntEnum):
    """Asgard's lending protocols, numbered as on its wire."""

    MARGINFI = 0
    KAMINO = 1
    SOLEND = 2
    DRIFT = 3

    @property
    def label(self) -> str:
        return self.name.lower()


class Venue(StrEnum):
    ASGARD = "asgard"
    HYPERLIQUID = "hyperliquid"


class Chain(StrEnum):
    SOLANA = "solana"
    EVM = "evm"


class LegSide(StrEnum):
    LONG = "long"
    SHORT = "short"


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class IntentStatus(StrEnum):
    PENDING = "pending"  # waiting for its entry criteria
    EXECUTING = "executing"  # criteria met, the open is running
    FILLED = "filled"  # the position is open
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    FAILED = "failed"  # the open failed and was unwound

    @property
    def is_terminal(self) -> bool:
        return self in {
            IntentStatus.FILLED,
            IntentStatus.CANCELLED,
            IntentStatus.EXPIRED,
            IntentStatus.FAILED,
        }


class PositionStatus(StrEnum):
    OPENING = "opening"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"
    FAILED = "failed"  # the open did not complete and every opened leg was unwound
    HALTED = "halted"  # venue and database disagree; an operator must look

    @property
    def is_terminal(self) -> bool:
        return self in {PositionStatus.CLOSED, PositionStatus.FAILED}


class LegStatus(StrEnum):
    PENDING = "pending"
    OPEN = "open"
    CLOSED = "closed"
    FAILED = "failed"


class UserRole(StrEnum):
    USER = "user"
    OPERATOR = "operator"


GLOBAL_SCOPE = "global"
"""Scope key of the global control state; per-user scopes are ``user:<id>``."""


def user_scope(user_id: object) -> str:
    return f"user:{user_id}"


class SubmissionKind(StrEnum):
    """What a Solana submission does on Asgard."""

    OPEN = "open"
    CLOSE = "close"
    UPDATE = "update"  # partial close, add collateral, repay, deleverage


class SubmissionState(StrEnum):
    """A Solana submission's progress (see ``venues.solana.submission``).

    ``FAILED_ONCHAIN`` and ``EXPIRED`` end an *attempt*, not the submission: both prove
    nothing changed on chain, so the next attempt may build and sign afresh.
    """

    BUILT = "built"  # the API built transactions for this attempt; nothing is signed
    SIGNED = "signed"  # signed and persisted; may or may not have been sent
    SUBMITTED = "submitted"  # handed to Asgard / the RPC at least once
    CONFIRMED = "confirmed"  # every transaction of the attempt landed without error
    FAILED_ONCHAIN = "failed_onchain"  # one landed with an error (fee paid, no effect)
    EXPIRED = "expired"  # none can land any more (block height passed the last valid one)
    FINALIZED = "finalized"  # the confirmed landing is finalized and the result recorded

    @property
    def attempt_over(self) -> bool:
        return self in {SubmissionState.FAILED_ONCHAIN, SubmissionState.EXPIRED}

    @property
    def succeeded(self) -> bool:
        return self in {SubmissionState.CONFIRMED, SubmissionState.FINALIZED}


class TxState(StrEnum):
    """One signed transaction of a submission."""

    PENDING = "pending"  # not seen on chain yet, and its blockhash may still be valid
    LANDED = "landed"  # on chain without error
    FAILED = "failed"  # on chain with an error
    EXPIRED = "expired"  # never landed and never can

    @property
    def terminal(self) -> bool:
        return self is not TxState.PENDING
