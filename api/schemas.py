"""Request and response bodies. Money is a decimal string on the wire (never a float)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from models.domain import Asset, IntentStatus, PositionStatus, Protocol


def canonical(d: Decimal) -> str:
    """Plain decimal text without trailing zeros: the same value reads the same whichever
    database stored it (Postgres pads NUMERIC scale, SQLite keeps what was written)."""
    if d.is_zero():
        return "0"  # never "-0"
    return format(d.normalize(), "f")


# Serialise Decimals as strings so no client parses money into a float by accident.
Money = Annotated[Decimal, PlainSerializer(canonical, return_type=str)]


class IntentBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asset: Asset
    leverage: Annotated[Decimal | None, Field(gt=1, le=20, decimal_places=2)] = None
    """Unset: your ``default_leverage`` setting, else the global default (3)."""
    capital_usd: Annotated[Decimal, Field(gt=0, le=100_000_000, decimal_places=2)]
    min_net_apy: Annotated[Decimal | None, Field(ge=-1, le=10)] = None
    min_funding_rate: Annotated[Decimal | None, Field(ge=-1, le=1)] = None
    max_funding_volatility: Annotated[Decimal | None, Field(gt=0, le=100)] = None
    max_entry_price: Annotated[Decimal | None, Field(gt=0)] = None


class IntentCreate(IntentBase):
    execute_immediately: bool = False
    expires_in_hours: Annotated[float | None, Field(gt=0, le=24 * 30)] = 72
    """Hours until the intent expires if its criteria never hold (at most 30 days)."""


class IntentPublic(BaseModel):
    id: uuid.UUID
    status: IntentStatus
    asset: Asset
    leverage: Money
    capital_usd: Money
    min_net_apy: Money | None
    min_funding_rate: Money | None
    max_funding_volatility: Money | None
    max_entry_price: Money | None
    execute_immediately: bool
    position_id: uuid.UUID | None
    failure_reason: str | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    workflow_id: str


class LegPublic(BaseModel):
    venue: str
    side: str
    status: str
    instrument: str
    size: Money
    entry_price: Money | None
    exit_price: Money | None
    notional_usd: Money | None


class PnlPublic(BaseModel):
    funding: Money | None
    staking: Money | None
    lending: Money | None
    borrow: Money | None
    price: Money | None
    fees: Money | None
    total: Money | None


class PositionPublic(BaseModel):
    id: uuid.UUID
    status: PositionStatus
    asset: Asset
    protocol: Protocol | None
    leverage: Money
    capital_usd: Money
    entry_price: Money | None
    exit_price: Money | None
    close_reason: str | None
    halt_reason: str | None
    intent_id: uuid.UUID | None
    opened_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    legs: list[LegPublic]
    realised_pnl: PnlPublic | None


class CloseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=200)] = "user_request"


class OperationPublic(BaseModel):
    """Where an open or close in progress is."""

    position_id: uuid.UUID
    operation: str  # "open" | "close" | "none"
    running: bool
    step: str | None
    detail: str | None
    workflow_id: str | None
    position_status: PositionStatus
