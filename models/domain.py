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
