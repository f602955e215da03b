"""Database tables (SQLModel). Written by activities and the API, read by the API.

Money, prices and sizes are exact (``ExactDecimal``); timestamps are timezone-aware UTC
(``UTCDateTime``) and always set by the caller: this module reads no clock.
Schema changes go through Alembic (``migrations/``), never ``create_all`` outside tests.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.domain import (
    Asset,
    Chain,
    IntentStatus,
    LegSide,
    LegStatus,
    OrderSide,
    PositionStatus,
    Protocol,
    SubmissionKind,
    SubmissionState,
    TxState,
    UserRole,
    Venue,
)
from models.sqltypes import BigIntegerPK, EnumInt, EnumText, ExactDecimal, UTCDateTime


def _money(**kw: Any) -> Any:
    return Field(sa_type=ExactDecimal, **kw)


def _time(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str | None = Field(default=None, max_length=320, unique=True, index=True)
    privy_id: str | None = Field(default=None, max_length=128, unique=True, index=True)
    role: UserRole = Field(default=UserRole.USER, sa_type=EnumText(UserRole, 16))
    is_active: bool = True
    created_at: datetime = _time()
    last_login_at: datetime | None = _time(default=None)


class Wallet(SQLModel, table=True):
    """A user's address on one chain. Key material, when held locally, is stored only
    encrypted (AES-256-GCM under a per-user data key that is itself wrapped)."""

    __tablename__ = "wallets"
    __table_args__ = (UniqueConstraint("user_id", "chain", name="uq_wallets_user_chain"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    chain: Chain = Field(sa_type=EnumText(Chain, 16))
    address: str = Field(max_length=128, index=True)
    provider: str = Field(max_length=32)  # "local" keystore or "privy"
    provider_wallet_id: str | None = Field(default=None, max_length=128)
    encrypted_key: bytes | None = Field(default=None, sa_type=LargeBinary)
    wrapped_data_key: bytes | None = Field(default=None, sa_type=LargeBinary)
    key_version: int = 1
    created_at: datetime = _time()


class Intent(SQLModel, table=True):
    """A user's standing order: open a basis position when the entry criteria hold."""

    __tablename__ = "intents"
    __table_args__ = (
        UniqueConstraint("user_id", "client_key", name="uq_intents_user_client_key"),
        Index("ix_intents_status_expires", "status", "expires_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    client_key: str | None = Field(default=None, max_length=128)
    """Idempotency key supplied by the caller: the same key returns the same intent."""
    asset: Asset = Field(sa_type=EnumText(Asset, 16))
    leverage: Decimal = _money()
    capital_usd: Decimal = _money()
    min_net_apy: Decimal | None = _money(default=None)
    min_funding_rate: Decimal | None = _money(default=None)
    max_funding_volatility: Decimal | None = _money(default=None)
    max_entry_price: Decimal | None = _money(default=None)
    execute_immediately: bool = False
    status: IntentStatus = Field(
        default=IntentStatus.PENDING, index=True, sa_type=EnumText(IntentStatus, 16)
    )
    position_id: uuid.UUID | None = Field(default=None, index=True)
    failure_reason: str | None = Field(default=None, max_length=1000)
    expires_at: datetime | None = _time(default=None)
    created_at: datetime = _time()
    updated_at: datetime = _time()


class Position(SQLModel, table=True):
    __tablename__ = "positions"
    __table_args__ = (Index("ix_positions_user_status", "user_id", "status"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    intent_id: uuid.UUID | None = Field(default=None, foreign_key="intents.id")
    asset: Asset = Field(sa_type=EnumText(Asset, 16))
    protocol: Protocol | None = Field(default=None, sa_type=EnumInt(Protocol))
    leverage: Decimal = _money()
    capital_usd: Decimal = _money()
    status: PositionStatus = Field(
        default=PositionStatus.OPENING, index=True, sa_type=EnumText(PositionStatus, 16)
    )
    entry_price: Decimal | None = _money(default=None)
    exit_price: Decimal | None = _money(default=None)
    close_reason: str | None = Field(default=None, max_length=200)
    halt_reason: str | None = Field(default=None, max_length=1000)
    # Realised PnL, split by source, set when the position closes. Sum = realised_pnl_usd.
    pnl_funding_usd: Decimal | None = _money(default=None)
    pnl_staking_usd: Decimal | None = _money(default=None)
    pnl_lending_usd: Decimal | None = _money(default=None)
    pnl_borrow_usd: Decimal | None = _money(default=None)
    pnl_price_usd: Decimal | None = _money(default=None)
    pnl_fees_usd: Decimal | None = _money(default=None)
    realised_pnl_usd: Decimal | None = _money(default=None)
    opened_at: datetime | None = _time(default=None)
    closed_at: datetime | None = _time(default=None)
    created_at: datetime = _time()
    updated_at: datetime = _time()


class Leg(SQLModel, table=True):
    """One side of a position on one venue."""

    __tablename__ = "legs"
    __table_args__ = (UniqueConstraint("position_id", "side", name="uq_legs_position_side"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    position_id: uuid.UUID = Field(foreign_key="positions.id", index=True)
    venue: Venue = Field(sa_type=EnumText(Venue, 16))
    side: LegSide = Field(sa_type=EnumText(LegSide, 8))
    status: LegStatus = Field(default=LegStatus.PENDING, sa_type=EnumText(LegStatus, 16))
    instrument: str = Field(max_length=64)  # "SOL" perp, or the collateral token
    venue_ref: str | None = Field(default=None, max_length=128)
    """Asgard position PDA, or the Hyperliquid account address."""
    size: Decimal = _money(default=Decimal(0))
    entry_price: Decimal | None = _money(default=None)
    exit_price: Decimal | None = _money(default=None)
    notional_usd: Decimal | None = _money(default=None)
    leverage: Decimal | None = _money(default=None)
    venue_details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    """Figures a settlement needs later (Asgard: collateral posted, tokens, debt and the
    token's SOL rate at the open), as decimal strings."""
    opened_at: datetime | None = _time(default=None)
    closed_at: datetime | None = _time(default=None)
    updated_at: datetime = _time()


class Fill(SQLModel, table=True):
    __tablename__ = "fills"
    __table_args__ = (UniqueConstraint("venue", "venue_fill_id", name="uq_fills_venue_fill"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    position_id: uuid.UUID = Field(foreign_key="positions.id", index=True)
    leg_id: uuid.UUID = Field(foreign_key="legs.id", index=True)
    venue: Venue = Field(sa_type=EnumText(Venue, 16))
    venue_fill_id: str = Field(max_length=128)  # Hyperliquid tid, or Solana signature
    client_order_id: str | None = Field(default=None, max_length=128)
    side: OrderSide = Field(sa_type=EnumText(OrderSide, 8))
    price: Decimal = _money()
    size: Decimal = _money()
    fee_usd: Decimal = _money(default=Decimal(0))
    occurred_at: datetime = _time()


class FundingPayment(SQLModel, table=True):
    """Hourly funding on the short leg; positive ``amount_usd`` = received."""

    __tablename__ = "funding_payments"
    __table_args__ = (UniqueConstraint("leg_id", "occurred_at", name="uq_funding_leg_time"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    position_id: uuid.UUID = Field(foreign_key="positions.id", index=True)
    leg_id: uuid.UUID = Field(foreign_key="legs.id")
    amount_usd: Decimal = _money()
    rate: Decimal = _money()
    size: Decimal = _money()
    occurred_at: datetime = _time()


class PositionSnapshot(SQLModel, table=True):
    """What monitoring observed in one cycle."""

    __tablename__ = "position_snapshots"
    __table_args__ = (Index("ix_snapshots_position_time", "position_id", "taken_at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntegerPK)
    position_id: uuid.UUID = Field(foreign_key="positions.id")
    taken_at: datetime = _time()
    sol_price: Decimal = _money()
    long_value_usd: Decimal = _money()
    short_value_usd: Decimal = _money()
    health_factor: Decimal | None = _money(default=None)
    margin_fraction: Decimal | None = _money(default=None)
    delta_usd: Decimal = _money()
    funding_accrued_usd: Decimal = _money(default=Decimal(0))
    unrealised_pnl_usd: Decimal = _money(default=Decimal(0))
    net_apy: Decimal | None = _money(default=None)
    decision: str | None = Field(default=None, max_length=64)


class UserSettings(SQLModel, table=True):
    __tablename__ = "user_settings"

    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True)
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    version: int = 1
    updated_at: datetime = _time()


class ControlState(SQLModel, table=True):
    """Pause state per scope: ``global`` or ``user:<id>``. Pause stops new entries only."""

    __tablename__ = "control_state"

    scope: str = Field(primary_key=True, max_length=64)
    paused: bool = False
    emergency_stop: bool = False
    reason: str | None = Field(default=None, max_length=500)
    updated_by: str = Field(max_length=128)
    updated_at: datetime = _time()


class AuditEvent(SQLModel, table=True):
    """Append-only: database triggers refuse UPDATE and DELETE (see the initial migration)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity_type", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntegerPK)
    occurred_at: datetime = _time()
    actor: str = Field(max_length=128)
    user_id: uuid.UUID | None = Field(default=None, index=True)
    action: str = Field(max_length=64)
    entity_type: str = Field(max_length=32)
    entity_id: str = Field(max_length=128)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    correlation_id: str | None = Field(default=None, max_length=128)
    """Request id or workflow id that caused the event."""


class SolanaSubmission(SQLModel, table=True):
    """One idempotent Solana action (open, close or update an Asgard position), keyed by the
    caller's idempotency key (``open:{position_id}``...). Written before every irreversible
    step so a restarted worker resumes it instead of signing something new."""

    __tablename__ = "solana_submissions"

    key: str = Field(primary_key=True, max_length=200)
    kind: SubmissionKind = Field(sa_type=EnumText(SubmissionKind, 16))
    wallet: str = Field(max_length=64, index=True)
    state: SubmissionState = Field(sa_type=EnumText(SubmissionState, 16), index=True)
    attempt: int = 1
    request: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    """The caller's parameters: a reused key with different ones is refused."""
    build: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    """The current attempt's build response from Asgard, without its transactions."""
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    error: str | None = Field(default=None, max_length=2000)
    version: int = 0
    """Optimistic lock: every write must name the version it read."""
    created_at: datetime = _time()
    updated_at: datetime = _time()


class SolanaTransaction(SQLModel, table=True):
    """A signed transaction of a submission. The signature is its id on chain and unique
    here, so one landing can never be claimed by two submissions."""

    __tablename__ = "solana_transactions"
    __table_args__ = (
        UniqueConstraint("submission_key", "attempt", "idx", name="uq_solana_tx_attempt_idx"),
    )

    signature: str = Field(primary_key=True, max_length=100)
    submission_key: str = Field(foreign_key="solana_submissions.key", index=True, max_length=200)
    attempt: int
    idx: int
    signed_tx: str = Field(sa_type=Text)
    """Base64 wire bytes, kept so the very same transaction can be rebroadcast."""
    last_valid_block_height: int = Field(sa_type=BigInteger)
    state: TxState = Field(default=TxState.PENDING, sa_type=EnumText(TxState, 16))
    err: str | None = Field(default=None, max_length=2000)
    slot: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = _time()
    updated_at: datetime = _time()


class MarketSnapshotRecord(SQLModel, table=True):
    """The market view of one monitor cycle, shared by every batch of that cycle (kept out of
    workflow history; pruned after a day)."""

    __tablename__ = "market_snapshots"

    id: str = Field(primary_key=True, max_length=64)
    taken_at: datetime = _time(index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class MonitorStateRecord(SQLModel, table=True):
    """What the risk rules carry from one monitor cycle to the next for a position (since
    when a leg has been near liquidation, funding adverse, carry low)."""

    __tablename__ = "monitor_states"

    position_id: uuid.UUID = Field(foreign_key="positions.id", primary_key=True)
    state: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: datetime = _time()


class LoginCode(SQLModel, table=True):
    """A one-time login code, stored only as a keyed hash bound to the address. Single use:
    ``used_at`` is set by a conditional update, so two concurrent verifications cannot both
    win; a newer code for the same address supersedes the older one (also ``used_at``)."""

    __tablename__ = "login_codes"
    __table_args__ = (Index("ix_login_codes_email_created", "email", "created_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=320)
    code_hash: str = Field(max_length=64)
    attempts: int = 0
    """Wrong guesses so far; at the configured maximum the code is dead."""
    expires_at: datetime = _time()
    used_at: datetime | None = _time(default=None)
    created_at: datetime = _time()


class AuthSession(SQLModel, table=True):
    """A browser session. The cookie holds a signed token naming this row; logout sets
    ``revoked_at``, so a copied cookie stops working with the logout, not at its expiry."""

    __tablename__ = "auth_sessions"

    id: str = Field(primary_key=True, max_length=64)
    """The token's ``sid`` claim (random, URL-safe)."""
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    method: str = Field(max_length=16)  # "otp" or "privy"
    created_at: datetime = _time()
    expires_at: datetime = _time()
    revoked_at: datetime | None = _time(default=None)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=256)


class ApiToken(SQLModel, table=True):
    """A user's token for scripts (``Authorization: Bearer bsk_...``). Only a keyed hash of
    the token is stored; the token itself is shown once, when it is created."""

    __tablename__ = "api_tokens"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    hint: str = Field(max_length=16)
    """The token's first characters, so a user can tell their tokens apart."""
    created_at: datetime = _time()
    expires_at: datetime | None = _time(default=None)
    last_used_at: datetime | None = _time(default=None)
    revoked_at: datetime | None = _time(default=None)
