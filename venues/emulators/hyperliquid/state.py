"""Everything the emulated venue remembers, and how it survives a restart.

Plain pydantic models so the whole state round-trips through JSON exactly (Decimals as
strings). ``save`` writes a temporary file, fsyncs it and renames it over the old one, so a
crash mid-write leaves the previous state intact.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

STATE_VERSION = 1


class _M(BaseModel):
    model_config = {"validate_assignment": False}


class OrderRec(_M):
    oid: int
    cloid: str | None
    asset: int
    coin: str
    is_buy: bool
    limit_px: Decimal
    orig_sz: Decimal
    sz: Decimal
    """Remaining size (0 once filled)."""
    reduce_only: bool
    tif: str
    timestamp: int
    status: str
    status_ts: int


class FillRec(_M):
    coin: str
    px: Decimal
    sz: Decimal
    side: str
    time: int
    start_position: Decimal
    dir: str
    closed_pnl: Decimal
    hash: str
    oid: int
    crossed: bool
    fee: Decimal
    tid: int
    cloid: str | None = None
    liquidation_mark_px: Decimal | None = None


class FundingRec(_M):
    time: int
    coin: str
    usdc: Decimal
    szi: Decimal
    rate: Decimal
    hash: str


class LedgerRec(_M):
    time: int
    hash: str
    delta: dict[str, Any]


class PositionRec(_M):
    szi: Decimal = Decimal(0)
    entry_px: Decimal = Decimal(0)
    isolated_margin: Decimal = Decimal(0)
    """USDC locked in an isolated position (0 for cross)."""
    cum_funding_all: Decimal = Decimal(0)
    cum_funding_open: Decimal = Decimal(0)
    cum_funding_change: Decimal = Decimal(0)
    """Funding paid (positive) or received (negative), as the venue reports it."""


class LeverageRec(_M):
    cross: bool = True
    value: int


class AccountRec(_M):
    perp_usdc: Decimal = Decimal(0)
    """Cross collateral: deposits, realised PnL, fees and funding of cross positions."""
    spot_usdc: Decimal = Decimal(0)
    positions: dict[int, PositionRec] = Field(default_factory=dict)
    leverage: dict[int, LeverageRec] = Field(default_factory=dict)
    orders: dict[int, OrderRec] = Field(default_factory=dict)
    cloids: dict[str, int] = Field(default_factory=dict)
    fills: list[FillRec] = Field(default_factory=list)
    funding: list[FundingRec] = Field(default_factory=list)
    ledger: list[LedgerRec] = Field(default_factory=list)
    schedule_cancel_ms: int | None = None


class AgentRec(_M):
    master: str
    name: str
    valid_until: int | None = None


class EmulatorState(_M):
    version: int = STATE_VERSION
    accounts: dict[str, AccountRec] = Field(default_factory=dict)
    agents: dict[str, AgentRec] = Field(default_factory=dict)
    nonces: dict[str, list[int]] = Field(default_factory=dict)
    next_oid: int = 1_000_000
    next_tid: int = 1
    last_catchup_ms: int = 0
    liquidations: int = 0


def load(path: Path) -> EmulatorState | None:
    if not path.exists():
        return None
    state = EmulatorState.model_validate_json(path.read_bytes())
    if state.version != STATE_VERSION:
        raise ValueError(f"{path}: state version {state.version}, expected {STATE_VERSION}")
    return state


def save(state: EmulatorState, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    data = state.model_dump_json().encode()
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
